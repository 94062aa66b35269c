namespace LongLived.Streams;

/// <summary>
/// What this process sends to one queue, one call at a time: the batches queued while a call is in flight ride the next
/// call together, one <see cref="EventBatch"/> per stream (a group commit, as the Redis log does). Producers that
/// publish together (a silo's own channels tick in 100 slots a second, a hundred at a time at 10,000 clients) then cost
/// the queue grain and its pulling agent one call and one event per stream, not one per producer. Ordering per stream
/// holds: one call in flight per queue, batches in the order they came. Producers need not wait for their sends; memory
/// is bounded: past <paramref name="capacity"/> events waiting for the next call (the queue does not answer), a batch is
/// refused at once with <see cref="QueueFullException"/>.
/// </summary>
public sealed class EventQueueOutbox(IEventQueueGrain queue, string name, int capacity) : IThreadPoolWorkItem
{
    private readonly Lock _lock = new();
    private Send? _next; // what the next call carries; null when nothing waits
    private bool _running; // a call is queued or in flight: it (or the next round of its loop) takes _next

    /// <summary>Completes when the call that carried <paramref name="batch"/> does; fails as that call failed.</summary>
    public Task Queue(EventBatch batch)
    {
        lock (_lock)
        {
            if (_next is { } waiting && waiting.Events >= capacity)
            {
                return Task.FromException(new QueueFullException(
                    $"stream queue {name}: {waiting.Events} events wait for its last call to return (the queue does not answer): event refused"));
            }
            var send = _next ??= new Send();
            send.Add(batch);
            // Not sent from here: the call goes out once the thread pool gets to it, behind the work already queued, so
            // the producers ticked together (whose turns are in that queue) share it. Nor from the producer's grain turn.
            if (!_running)
            {
                _running = true;
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            return send.Done.Task;
        }
    }

    void IThreadPoolWorkItem.Execute() => _ = CallAsync();

    private async Task CallAsync()
    {
        while (true)
        {
            Send? send;
            lock (_lock)
            {
                send = _next;
                _next = null;
                if (send is null)
                {
                    _running = false;
                    return;
                }
            }
            try
            {
                StreamMetrics.Sent(send.Events);
                await queue.EnqueueMany([.. send.Batches]).ConfigureAwait(false);
                send.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                send.Done.TrySetException(ex);
            }
        }
    }

    private sealed class Send
    {
        private readonly Dictionary<StreamId, EventBatch> _byStream = [];
        public List<EventBatch> Batches { get; } = [];
        public int Events { get; private set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(EventBatch batch)
        {
            Events += batch.Events.Count;
            // Batches with a request context keep it to themselves: it is imported once per batch by the consumer.
            if (batch.RequestContext is null && _byStream.TryGetValue(batch.StreamId, out var same))
            {
                same.Events.AddRange(batch.Events);
                return;
            }
            Batches.Add(batch);
            if (batch.RequestContext is null) _byStream.TryAdd(batch.StreamId, batch);
        }
    }
}
