using LongLived.Silo.Operations;
using LongLived.Silo.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// The mock data of a client's own channel (what the original service sent): one message per Generator:Interval while
/// a gateway is joined to the channel or renewed its lease (reads, head checks) within Generator:IdleTimeout; stopped
/// after that. Ticked by the silo's <see cref="GeneratorClock"/> in the channel's slot of the interval.
/// </summary>
internal sealed class DemoGenerator(IAddressable grain, string channel, string clientId, GeneratorOptions options, GeneratorClock clock,
    Func<string, Task> append, Func<bool> joined, SiloMetrics metrics, TimeProvider time, ILogger logger)
{
    private IGeneratingChannel? _self; // while running: what the clock ticks
    private DateTimeOffset _due; // when the next message is due
    private DateTimeOffset _leaseRenewedAt;
    private bool _appending;
    private string? _data;

    private int Slot => GeneratorClock.SlotOf(channel);

    /// <summary>Renews the lease, and starts generating if it was not.</summary>
    public void RenewLease()
    {
        _leaseRenewedAt = time.GetUtcNow();
        if (_self is not null || options.Interval <= TimeSpan.Zero) return;
        _data ??= $"data mock for: {clientId}"; // one string for all its messages (they stay in the history)
        _due = clock.NextTime(Slot, time.GetUtcNow());
        _self = grain.AsReference<IGeneratingChannel>();
        clock.Join(Slot, _self);
        metrics.GeneratorStarted();
        logger.LogInformation("Channel {Channel}: generator started every {Interval}", channel, options.Interval);
    }

    /// <summary>
    /// The channel's slot came: the messages due since the last tick (one, or a few after a pause). A tick that finds the
    /// last one still appending (the grain is reentrant, the write may be slow) leaves its messages to the next.
    /// </summary>
    public async Task TickAsync()
    {
        if (_self is null || _appending) return;
        // A joined gateway is a listener: the head check no longer touches a channel that keeps getting messages.
        if (time.GetUtcNow() - _leaseRenewedAt > options.IdleTimeout && !joined())
        {
            logger.LogInformation("Channel {Channel}: no subscriber for {Idle}, generator stopped", channel, options.IdleTimeout);
            Stop();
            return;
        }
        _appending = true;
        try
        {
            var now = time.GetUtcNow();
            _due = clock.Realign(Slot, _due, now); // after a long pause or a clock step back
            for (; _due <= now; _due += options.Interval)
            {
                await append(_data!);
                metrics.Appended(generated: true);
            }
        }
        finally
        {
            _appending = false;
        }
    }

    public void Stop()
    {
        if (_self is null) return;
        clock.Leave(Slot, _self);
        _self = null;
        metrics.GeneratorStopped();
    }
}
