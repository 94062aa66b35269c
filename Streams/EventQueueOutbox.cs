namespace LongLived.Streams;

/// <summary>
/// What this process sends to one stream queue (<see cref="Outbox{TItem}"/>): one <see cref="IEventQueueGrain.EnqueueMany"/>
/// per call, one <see cref="EventBatch"/> per stream, so the queue grain and its pulling agent pay per stream, not per
/// producer.
/// </summary>
public sealed class EventQueueOutbox(IEventQueueGrain queue, string name, int capacity) : Outbox<EventBatch>($"stream queue {name}", capacity)
{
    public Task Queue(EventBatch batch) => Queue(batch, batch.Events.Count);

    protected override Task CallAsync(List<EventBatch> batches, int events)
    {
        StreamMetrics.Sent(events);
        // Batches with a request context keep it to themselves: it is imported once per batch by the consumer.
        var byStream = new Dictionary<StreamId, EventBatch>();
        var merged = new List<EventBatch>(batches.Count);
        foreach (var batch in batches)
        {
            if (batch.RequestContext is null && byStream.TryGetValue(batch.StreamId, out var same))
            {
                same.Events.AddRange(batch.Events);
                continue;
            }
            merged.Add(batch);
            if (batch.RequestContext is null) byStream.TryAdd(batch.StreamId, batch);
        }
        return queue.EnqueueMany([.. merged]);
    }
}
