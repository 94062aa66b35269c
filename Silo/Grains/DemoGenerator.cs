using LongLived.Contracts.Grains;
using LongLived.Silo.Operations;
using LongLived.Silo.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// The mock data of a client's own channel (what the original service sent): one message per Generator:Interval while
/// a gateway is joined to the channel or renewed its lease (reads, head checks) within Generator:IdleTimeout; stopped
/// after that.
/// </summary>
internal sealed class DemoGenerator(IGrainBase grain, string channel, string clientId, GeneratorOptions options,
    Func<string, Task> append, Func<bool> joined, SiloMetrics metrics, TimeProvider time, ILogger logger)
{
    private const int Slots = 100;
    private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(20);
    private IGrainTimer? _timer;
    private DateTimeOffset _leaseRenewedAt;

    public bool Running => _timer is not null;

    /// <summary>Renews the lease, and starts generating if it was not.</summary>
    public void RenewLease()
    {
        _leaseRenewedAt = time.GetUtcNow();
        if (_timer is not null || options.Interval <= TimeSpan.Zero) return;
        var data = $"data mock for: {clientId}";
        // Each channel's messages fall on its own point of the interval, one of 100 slots by its name's hash, not on the
        // moment its client connected: clients that connect together (a failover, a deploy, a benchmark) would otherwise
        // publish in the same few milliseconds of every interval, and the burst queues behind itself. Within a slot,
        // channels publish together, so the silo and the gateway wake once per slot, not once per message (the bare
        // relay's generator spreads its channels the same way). A grain timer's period also counts from the end of its
        // callback (so it drifts), hence each tick makes the messages due since the last one and re-arms the timer for
        // the next point. At most a few per tick after a pause.
        var due = NextDue(time.GetUtcNow());
        _timer = grain.RegisterGrainTimer(
            async ct =>
            {
                // A joined gateway is a listener: the head check no longer touches a channel that keeps getting messages.
                if (time.GetUtcNow() - _leaseRenewedAt > options.IdleTimeout && !joined())
                {
                    logger.LogInformation("Channel {Channel}: no subscriber for {Idle}, generator stopped", channel, options.IdleTimeout);
                    _timer?.Dispose();
                    _timer = null;
                    metrics.GeneratorStopped();
                    return;
                }
                // Timers run on a coarse clock and may fire a few milliseconds early: a point that close counts as
                // reached, so that a tick never re-arms the timer for the moment left.
                var now = time.GetUtcNow() + Early;
                if (now - due > options.Interval * 3) due = NextDue(now); // a long pause: start again from now, no burst
                for (; due <= now; due += options.Interval)
                {
                    await append(data);
                    metrics.Appended(generated: true);
                }
                _timer?.Change(Until(due), options.Interval);
            },
            new GrainTimerCreationOptions(Until(due), options.Interval) { KeepAlive = true, Interleave = false });
        metrics.GeneratorStarted();
        logger.LogInformation("Channel {Channel}: generator started every {Interval}", channel, options.Interval);
    }

    /// <summary>The first point of this channel's grid after <paramref name="after"/>: its slot of the interval.</summary>
    private DateTimeOffset NextDue(DateTimeOffset after)
    {
        var interval = options.Interval.Ticks;
        var phase = ChannelNames.Hash(channel) % Slots * (interval / Slots);
        var ticks = after.UtcTicks;
        return new DateTimeOffset(ticks - (ticks - phase) % interval + interval, TimeSpan.Zero);
    }

    private TimeSpan Until(DateTimeOffset due)
    {
        var wait = due - time.GetUtcNow();
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }
}
