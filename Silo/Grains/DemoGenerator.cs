using LongLived.Silo.Operations;
using LongLived.Silo.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// The mock data of a client's own channel (what the original service sent): one message per Generator:Interval while
/// a gateway is joined to the channel or renewed its lease (reads, head checks) within Generator:IdleTimeout; stopped
/// after that. Ticked by the silo's <see cref="GeneratorClock"/> in the channel's slot of the interval.
/// </summary>
internal sealed class DemoGenerator(ChannelGrain owner, string clientId, GeneratorOptions options, GeneratorClock clock,
    SiloMetrics metrics, TimeProvider time, ILogger logger) : IGeneratingChannel
{
    private static readonly Streams.ThrottledLog Failures = new(TimeSpan.FromSeconds(10)); // a failing store fails them all
    private bool _running;
    private Task _tick = Task.CompletedTask; // the tick under way, if any
    private DateTimeOffset _due; // when the next message is due
    private DateTimeOffset _leaseRenewedAt;
    private string? _data;

    private readonly int _slot = GeneratorClock.SlotOf(owner.ChannelName); // hashed once: each tick needs it (1.5 % of the silo at 10,000 channels)

    /// <summary>Renews the lease, and starts generating if it was not.</summary>
    public void RenewLease()
    {
        _leaseRenewedAt = time.GetUtcNow();
        if (_running || options.Interval <= TimeSpan.Zero) return;
        _data ??= $"data mock for: {clientId}"; // one string for all its messages (they stay in the history)
        _due = clock.NextTime(_slot, time.GetUtcNow());
        _running = true;
        clock.Join(_slot, this);
        metrics.GeneratorStarted();
        logger.LogInformation("Channel {Channel}: generator started every {Interval}", owner.ChannelName, options.Interval);
    }

    /// <summary>
    /// Queued on the grain's own scheduler, not sent as a grain call: a call per channel per interval was a fifth of the
    /// silo's CPU at 10,000 channels (message, routing, invocation). It runs single-threaded with the grain's requests and,
    /// as they do (the grain is reentrant), interleaves with them at awaits.
    /// </summary>
    void IGeneratingChannel.Tick() => _scheduler.QueueAction(static self => ((DemoGenerator)self).StartTick(), this);

    private readonly IWorkItemScheduler _scheduler = owner.GrainContext.Scheduler; // kept: the clock's tick then reads no activation's fields (a cold line)

    /// <summary>
    /// The channel's slot came: the messages due since the last tick (one, or a few after a pause). A tick that finds the
    /// last one still appending (the write may be slow) leaves its messages to the next.
    /// </summary>
    private void StartTick()
    {
        if (_running && _tick.IsCompleted) _tick = TickAsync();
    }

    private async Task TickAsync()
    {
        // A joined gateway is a listener: the head check no longer touches a channel that keeps getting messages.
        if (time.GetUtcNow() - _leaseRenewedAt > options.IdleTimeout && !owner.IsJoined)
        {
            logger.LogInformation("Channel {Channel}: no subscriber for {Idle}, generator stopped", owner.ChannelName, options.IdleTimeout);
            _ = Stop(); // this tick is what it returns
            return;
        }
        try
        {
            var now = time.GetUtcNow();
            _due = clock.Realign(_slot, _due, now); // after a long pause or a clock step back
            for (; _due <= now; _due += options.Interval)
            {
                await owner.AppendGeneratedAsync(_data!); // the grain itself, not a delegate to it: one cold object less per tick
                metrics.Appended(generated: true);
            }
        }
        catch (Exception ex)
        {
            // The append logged why (storage); the next tick tries again.
            if (Failures.ShouldLog(out var more)) logger.LogWarning("Channel {Channel}: generating failed ({Error}); {More} more failures since the last report", owner.ChannelName, ex.Message, more);
        }
    }

    /// <summary>Leaves the clock; returns the tick under way, which the grain awaits before it deactivates.</summary>
    public Task Stop()
    {
        if (_running)
        {
            _running = false;
            clock.Leave(_slot, this);
            metrics.GeneratorStopped();
        }
        return _tick;
    }
}
