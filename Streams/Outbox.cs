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
        TryQueue(item, events) ?? throw Retired();

    /// <summary>As <see cref="Queue(TItem, int)"/>; null when this outbox was retired (<see cref="TryRetire"/>): use a new one.</summary>
    public Task? TryQueue(TItem item, int events)
    {
        var send = Add(item, events, null, out var refused);
        return refused is not null ? Task.FromException(refused) : send?.Done.Task;
    }

    /// <summary>
    /// For a producer that does not wait for its send: <paramref name="observer"/> is told if the call that carries
    /// <paramref name="item"/> fails, or at once if it is refused. A continuation per item on the call's shared task
    /// instead was a tenth of a silo's allocations at 10,000 channels.
    /// </summary>
    public void Queue(TItem item, int events, ISendObserver observer)
    {
        if (!TryQueue(item, events, observer)) throw Retired();
    }

    /// <summary>As <see cref="Queue(TItem, int, ISendObserver)"/>; false when this outbox was retired: use a new one.</summary>
    public bool TryQueue(TItem item, int events, ISendObserver observer)
    {
        var send = Add(item, events, observer, out var refused);
        if (refused is not null) Tell(observer, refused);
        return send is not null || refused is not null;
    }

    private InvalidOperationException Retired() => new($"{name}: the outbox was retired");

    /// <summary>The call <paramref name="item"/> will ride; null when retired, or when refused (<paramref name="refused"/> says why).</summary>
    private Send? Add(TItem item, int events, ISendObserver? observer, out QueueFullException? refused)
    {
        refused = null;
        lock (_lock)
        {
            if (_retired) return null;
            if (_next is { } waiting && waiting.Events >= capacity)
            {
                refused = new QueueFullException($"{name}: {waiting.Events} events wait for its last call to return (it does not answer): event refused");
                return null;
            }
            var send = _next ??= new Send();
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
            return send;
        }
    }

    private static void Tell(ISendObserver observer, Exception error)
    {
        try
        {
            observer.SendFailed(error);
        }
        catch
        {
            // An observer that throws (a failing log provider) must neither stop this outbox nor keep the others untold.
        }
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
                foreach (var observer in send.Observers ?? []) Tell(observer, ex);
                send.Done.TrySetException(ex);
                if (send.Observers is not null) _ = send.Done.Task.Exception; // its observers were told: not an unobserved task exception
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
