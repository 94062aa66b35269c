using System.Runtime.InteropServices;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// One timer for every demo generator on this silo instead of one grain timer per own channel (those timers were a
/// tenth of the silo's CPU at 10,000 channels: .NET walks its timer list on every firing). The interval is cut into
/// <see cref="Slots"/> slots on the wall clock; each channel generates in its slot (its name's hash), so channels whose
/// clients connected together do not publish in one burst, and a slot's channels publish together (one wake-up of the
/// silo and the gateway per slot, not per message). A tick queues the generator's work on its grain's own scheduler
/// (<see cref="DemoGenerator"/>).
/// </summary>
public sealed class GeneratorClock(IOptions<GeneratorOptions> options, TimeProvider time, ILogger<GeneratorClock> logger) : BackgroundService
{
    public const int Slots = 100;
    // Lists, copied to the tick's list as one block: a set's entries were copied one by one, each with the array's type
    // check, which read every generator's object header (a cold line per channel, 3.6 % of a silo at 10,000 channels).
    private readonly List<IGeneratingChannel>[] _slots = [.. Enumerable.Range(0, Slots).Select(_ => new List<IGeneratingChannel>())];
    private readonly long _slotTicks = options.Value.Interval.Ticks / Slots;
    private long Interval => _slotTicks * Slots;
    private readonly Streams.ThrottledLog _failures = new(TimeSpan.FromSeconds(10)); // a silo stopping fails them all at once

    /// <summary>The slot of <paramref name="channel"/>: its name's hash.</summary>
    public static int SlotOf(string channel) => (int)(Contracts.Grains.ChannelNames.Hash(channel) % Slots);

    /// <summary>The start of slot <paramref name="slot"/> next after <paramref name="after"/> (on the grid from the epoch).</summary>
    public DateTimeOffset NextTime(int slot, DateTimeOffset after)
    {
        var ticks = after.UtcTicks;
        return new DateTimeOffset(ticks - (ticks - slot * _slotTicks) % Interval + Interval, TimeSpan.Zero);
    }

    /// <summary>
    /// When a channel of <paramref name="slot"/> next due at <paramref name="due"/> is due, seen at <paramref name="now"/>:
    /// <paramref name="due"/>, unless the silo paused for over three intervals or its clock went back by more than one
    /// (an NTP step); then the slot's latest start up to now: one message now, no burst, and no hour of silence.
    /// </summary>
    public DateTimeOffset Realign(int slot, DateTimeOffset due, DateTimeOffset now)
    {
        var interval = TimeSpan.FromTicks(Interval);
        return now - due > interval * 3 || due - now > interval ? NextTime(slot, now - interval) : due;
    }

    /// <summary>Ticks <paramref name="channel"/> in <paramref name="slot"/> until it leaves; a channel joins once (until it leaves).</summary>
    public void Join(int slot, IGeneratingChannel channel)
    {
        lock (_slots[slot]) _slots[slot].Add(channel);
    }

    public void Leave(int slot, IGeneratingChannel channel)
    {
        var channels = _slots[slot];
        lock (channels)
        {
            // By reference (Remove would call Equals on each), and the last one moved into its place: order does not matter.
            for (var i = 0; i < channels.Count; i++)
            {
                if (!ReferenceEquals(channels[i], channel)) continue;
                channels[i] = channels[^1];
                channels.RemoveAt(channels.Count - 1);
                return;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_slotTicks <= 0) return;
        var due = new List<IGeneratingChannel>();
        var next = time.GetUtcNow().UtcTicks / _slotTicks + 1; // the next slot to tick, counted from the epoch
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = TimeSpan.FromTicks(next * _slotTicks - time.GetUtcNow().UtcTicks);
            if (wait.Ticks > _slotTicks)
            {
                // The clock went back (an NTP step): go on from now rather than wait for the old time to come again.
                next = time.GetUtcNow().UtcTicks / _slotTicks + 1;
                continue;
            }
            try
            {
                // In whole milliseconds, rounded up: timers count whole milliseconds, so the last fraction of one would be
                // a timer due at once, and the loop would spin through it (most of the clock's 7.8 % of the silo at 10,000 channels).
                if (wait > TimeSpan.Zero) await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // Every slot whose start has passed, so a late wake-up (a busy machine) skips none; after a long pause
            // (over an interval), one round of all slots: each generator catches up what it owes by itself.
            var now = time.GetUtcNow().UtcTicks / _slotTicks;
            if (now - next >= Slots) next = now - Slots + 1;
            for (; next <= now; next++)
            {
                var slot = (int)(next % Slots);
                lock (_slots[slot]) due.AddRange(CollectionsMarshal.AsSpan(_slots[slot]));
                foreach (var channel in due)
                {
                    try
                    {
                        channel.Tick();
                    }
                    catch (Exception ex)
                    {
                        if (_failures.ShouldLog(out var more)) logger.LogWarning("Generator tick failed: {Error} ({More} more since the last report)", ex.Message, more);
                    }
                }
                due.Clear();
            }
        }
    }
}
