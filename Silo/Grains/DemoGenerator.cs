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
    private IGrainTimer? _timer;
    private DateTimeOffset _leaseRenewedAt;

    public bool Running => _timer is not null;

    /// <summary>Renews the lease, and starts generating if it was not.</summary>
    public void RenewLease()
    {
        _leaseRenewedAt = time.GetUtcNow();
        if (_timer is not null || options.Interval <= TimeSpan.Zero) return;
        var data = $"data mock for: {clientId}";
        // A grain timer's period counts from the end of its callback, and an append waits for its write and delivery:
        // each tick makes the messages due since the last one, so the rate is one per interval, not one per
        // interval plus an append (a few messages short per hundred under load). At most a few per tick after a pause.
        var due = time.GetUtcNow() + options.Interval;
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
                var now = time.GetUtcNow();
                if (now - due > options.Interval * 3) due = now; // a long pause: start again from now, no burst
                for (; due <= now; due += options.Interval)
                {
                    await append(data);
                    metrics.Appended(generated: true);
                }
            },
            new GrainTimerCreationOptions(options.Interval, options.Interval) { KeepAlive = true, Interleave = false });
        metrics.GeneratorStarted();
        logger.LogInformation("Channel {Channel}: generator started every {Interval}", channel, options.Interval);
    }
}
