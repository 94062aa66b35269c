using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Providers.Streams.Common;

namespace LongLived.Streams;

/// <summary>
/// A bounded in-memory stream queue whose read waits for data. Orleans' memory stream queue answers a read at once,
/// so its pulling agent must poll it on a timer (the latency floor of every event, and CPU while idle); this one parks
/// the agent's read until a batch arrives (reentrant, so the enqueue that completes it can run) and returns it at once.
/// A batch leaves the queue when its reader's next read confirms it (<see cref="IEventQueueGrain.Read"/>).
/// Events in a queue whose silo dies are lost, as with memory streams: delivery is the fast path, history the truth.
/// Key: "&lt;provider&gt;/&lt;queue number&gt;".
/// </summary>
[Reentrant]
public sealed class EventQueueGrain(IOptionsMonitor<EventQueueOptions> options) : Grain, IEventQueueGrain
{
    private readonly Queue<EventBatch> _queue = new();
    // Grows across activations (a new one starts from the clock), so a token is never reused for a later batch.
    private long _sequence = DateTime.UtcNow.Ticks;
    private TaskCompletionSource<bool>? _waiting; // the read waiting for data: true when a batch came, false when a newer read replaced it
    private int _capacity;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        _capacity = Math.Max(options.Get(key[..Math.Max(key.IndexOf('/'), 0)]).QueueCapacity, 1);
        return Task.CompletedTask;
    }

    public Task Enqueue(EventBatch batch) => EnqueueMany([batch]);

    public Task EnqueueMany(EventBatch[] batches)
    {
        if (_queue.Count + batches.Length > _capacity)
        {
            throw new QueueFullException($"stream queue {this.GetPrimaryKeyString()} is full ({_capacity} batches not yet read by its pulling agent): {batches.Length} refused");
        }
        foreach (var batch in batches)
        {
            batch.Token = new EventSequenceTokenV2(++_sequence);
            _queue.Enqueue(batch);
        }
        _waiting?.TrySetResult(true);
        _waiting = null;
        return Task.CompletedTask;
    }

    public async Task<EventBatch[]> Read(long after, int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (after > _sequence)
        {
            // A sequence of an earlier activation (on a silo whose clock ran ahead): nothing here was read yet, and what
            // is queued from now on is numbered past it.
            _sequence = after;
        }
        else
        {
            while (_queue.TryPeek(out var oldest) && oldest.Token.SequenceNumber <= after) _queue.Dequeue();
        }
        // A read still waiting is an older reader's (its agent moved, or its silo died with the call parked here).
        _waiting?.TrySetResult(false);
        _waiting = null;
        if (_queue.Count == 0 && wait > TimeSpan.Zero)
        {
            var waiting = _waiting = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                if (!await waiting.Task.WaitAsync(wait, cancellationToken)) return [];
            }
            catch (TimeoutException)
            {
                return [];
            }
            finally
            {
                if (_waiting == waiting) _waiting = null;
            }
        }
        return [.. _queue.Take(Math.Max(maxCount, 0))];
    }
}
