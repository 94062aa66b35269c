namespace LongLived.Streams;

/// <summary>
/// What this process sends to one receiver, one call at a time: the items queued while a call is in flight ride the next
/// call together (a group commit, as the Redis log does). Producers that publish together (a silo's own channels tick in
/// 100 slots a second, a hundred at a time at 10,000 clients) then cost the receiver one call, not one per producer.
/// Order holds: one call in flight, items in the order they came. Producers need not wait for their sends; memory is
/// bounded: past <c>capacity</c> events waiting for the next call (the receiver does not answer), an item is refused at
/// once with <see cref="QueueFullException"/>.
/// </summary>
public abstract class Outbox<TItem>(string name, int capacity) : IThreadPoolWorkItem
{
    private readonly Lock _lock = new();
    private Send? _next; // what the next call carries; null when nothing waits
    private bool _running; // a call is queued or in flight: it (or the next round of its loop) takes _next
    private bool _retired; // taken out of use while idle: it queues nothing more

    /// <summary>Completes when the call that carried <paramref name="item"/> does; fails as that call failed.</summary>
    public Task Queue(TItem item, int events) =>
        TryQueue(item, events) ?? throw new InvalidOperationException($"{name}: the outbox was retired");

    /// <summary>
    /// As <see cref="Queue"/>; null when this outbox was retired (<see cref="TryRetire"/>): use a new one. A producer that
    /// does not wait for its send passes <paramref name="observer"/> instead of watching the task: a continuation per item
    /// on the call's shared task was a tenth of a silo's allocations at 10,000 channels.
    /// </summary>
    public Task? TryQueue(TItem item, int events, ISendObserver? observer = null)
    {
        QueueFullException refused;
        lock (_lock)
        {
            if (_retired) return null;
            var send = _next;
            if (send is null || send.Events < capacity)
            {
                send = _next ??= new Send();
                send.Items.Add(item);
                send.Events += events;
                if (observer is not null) (send.Observers ??= []).Add(observer);
                // Not sent from here: the call goes out once the thread pool gets to it, behind the work already queued, so
                // the producers ticked together (whose turns are in that queue) share it. Nor from the producer's grain turn.
                if (!_running)
                {
                    _running = true;
                    ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                }
                return send.Done.Task;
            }
            refused = new QueueFullException($"{name}: {send.Events} events wait for its last call to return (it does not answer): event refused");
        }
        observer?.SendFailed(refused);
        return Task.FromException(refused);
    }

    /// <summary>
    /// Takes this outbox out of use if it is idle (no call in flight, nothing waiting), so that whoever keeps outboxes
    /// by receiver can drop it without two outboxes ever sending to one receiver at once (which would break the order).
    /// </summary>
    public bool TryRetire()
    {
        lock (_lock)
        {
            if (_running || _next is not null) return false;
            _retired = true;
            return true;
        }
    }

    /// <summary>Sends what was queued since the last call, in order.</summary>
    protected abstract Task CallAsync(List<TItem> items, int events);

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    private async Task RunAsync()
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
                await CallAsync(send.Items, send.Events).ConfigureAwait(false);
                send.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                send.Done.TrySetException(ex);
                foreach (var observer in send.Observers ?? []) observer.SendFailed(ex);
            }
        }
    }

    private sealed class Send
    {
        public List<TItem> Items { get; } = [];
        public int Events { get; set; }
        public List<ISendObserver>? Observers { get; set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
