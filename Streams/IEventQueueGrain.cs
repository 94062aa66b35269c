namespace LongLived.Streams;

/// <summary>One stream queue: producers anywhere in the cluster enqueue, the queue's pulling agent dequeues.</summary>
[Alias("ll.IEventQueueGrain")]
public interface IEventQueueGrain : IGrainWithStringKey
{
    /// <summary>Queues one batch; throws <see cref="QueueFullException"/> when the queue holds its capacity.</summary>
    [Alias("Enqueue")]
    Task Enqueue(EventBatch batch);

    /// <summary>
    /// Up to <paramref name="maxCount"/> batches, oldest first. When the queue is empty the call waits until a batch
    /// arrives or <paramref name="wait"/> passes (then it returns none): a reader never polls an idle queue.
    /// </summary>
    [Alias("Dequeue")]
    Task<EventBatch[]> Dequeue(int maxCount, TimeSpan wait, CancellationToken cancellationToken);
}
