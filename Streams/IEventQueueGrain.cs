namespace LongLived.Streams;

/// <summary>One stream queue: producers anywhere in the cluster enqueue, the queue's pulling agent reads.</summary>
[Alias("ll.IEventQueueGrain")]
public interface IEventQueueGrain : IGrainWithStringKey
{
    /// <summary>
    /// Queues one batch; throws <see cref="QueueFullException"/> when the queue holds its capacity. Neither the batch nor
    /// a read's batches are copied on a call within the silo: a batch is not changed once queued (its producer made it
    /// for this call), so the copy Orleans makes by default would cost every event for nothing.
    /// </summary>
    [Alias("Enqueue")]
    Task Enqueue([Immutable] EventBatch batch);

    /// <summary>
    /// Queues several batches in order, all or none: <see cref="QueueFullException"/> when they do not all fit. What a
    /// process's <see cref="EventQueueOutbox"/> gathered while its last call was in flight.
    /// </summary>
    [Alias("EnqueueMany")]
    Task EnqueueMany([Immutable] EventBatch[] batches);

    /// <summary>
    /// Up to <paramref name="maxCount"/> batches, oldest first, after confirming every batch up to sequence
    /// <paramref name="after"/> (the last one the reader got; 0: none). Batches stay queued until confirmed, so a reply
    /// that never reached its reader (a cancelled read, a silo gone mid-call) is read again, not lost. When nothing is
    /// queued the read waits until a batch arrives or <paramref name="wait"/> passes (then it returns none): a reader
    /// never polls an idle queue. One read waits at a time: a newer read (the queue's agent moved to another silo)
    /// ends the older one with nothing, and reads from the oldest unconfirmed batch (a batch may come twice then).
    /// </summary>
    [Alias("Read")]
    [return: Immutable]
    Task<EventBatch[]> Read(long after, int maxCount, TimeSpan wait, CancellationToken cancellationToken);
}
