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
/// <para>
/// The timer is periodic and runs only while a generator is joined: a silo without generators woke its timer thread
/// about 350 times a second for nothing (0.046 cores with no client at all, 0.021 now). At 10,000 channels the periodic
/// timer woke it 330 times a second instead of 370 with a new delay per slot (docs/data-path.md, stop 40).
/// </para>
/// </summary>
public sealed class GeneratorClock(IOptions<GeneratorOptions> options, TimeProvider time, ILogger<GeneratorClock> logger) : IHostedService, IDisposable
{
    public const int Slots = 100;
    // Lists, copied to the tick's list as one block: a set's entries were copied one by one, each with the array's type
    // check, which read every generator's object header (a cold line per channel, 3.6 % of a silo at 10,000 channels).
    private readonly List<IGeneratingChannel>[] _slots = [.. Enumerable.Range(0, Slots).Select(_ => new List<IGeneratingChannel>())];
    private readonly long _slotTicks = options.Value.Interval.Ticks / Slots;
    private long Interval => _slotTicks * Slots;
    // The timer's period: whole milliseconds, rounded up (timers count them), so never early; a slot that is not a whole
    // number of them is ticked by the first firing after its start. .NET's periodic timer keeps its times when one firing is late.
    private TimeSpan Period => WholeMilliseconds(Math.Max(_slotTicks, TimeSpan.TicksPerMillisecond));
    private readonly Streams.ThrottledLog _failures = new(TimeSpan.FromSeconds(10)); // a silo stopping fails them all at once

    // The timer is set and stopped under _timerGate, which also orders it with the count of generators joined.
    private readonly Lock _timerGate = new();
    private ITimer? _timer; // from start to stop
    private bool _running; // the timer is set
    private int _joined; // generators in every slot
    private long _firstSlot; // set with the timer: the slot its first tick starts from (0: go on from the last tick)

    // One tick at a time (timer callbacks may overlap on a busy machine; the one running catches up).
    private readonly Lock _tickGate = new();
    private long _next; // the next slot to tick, counted from the epoch
    private readonly List<IGeneratingChannel> _due = [];

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
        if (Interlocked.Increment(ref _joined) == 1)
        {
            lock (_timerGate) SetTimer();
        }
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
                Interlocked.Decrement(ref _joined); // the tick that sees none left stops the timer
                return;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_slotTicks <= 0) return Task.CompletedTask;
        lock (_timerGate)
        {
            using (ExecutionContext.SuppressFlow()) // its ticks run in no caller's context
            {
                _timer = time.CreateTimer(static clock => ((GeneratorClock)clock!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            SetTimer();
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        ITimer? timer;
        lock (_timerGate) (timer, _timer, _running) = (_timer, null, false);
        if (timer is not null) await timer.DisposeAsync(); // waits for a tick under way
    }

    public void Dispose()
    {
        ITimer? timer;
        lock (_timerGate) (timer, _timer, _running) = (_timer, null, false); // as StopAsync: a tick or join after it sets nothing
        timer?.Dispose();
    }

    /// <summary>Under _timerGate: sets the timer, if it is not set and a generator is joined, to fire at each slot's start from the next on.</summary>
    private void SetTimer()
    {
        if (_running || _timer is null || Volatile.Read(ref _joined) == 0) return;
        var now = time.GetUtcNow().UtcTicks;
        var first = now / _slotTicks + 1;
        Volatile.Write(ref _firstSlot, first);
        FireFrom(_timer, first, now);
        _running = true;
    }

    /// <summary>
    /// Sets <paramref name="timer"/> to fire at the start of <paramref name="slot"/> (at once if it has passed by
    /// <paramref name="now"/>), then every slot: in whole milliseconds, rounded up, since a timer set to a fraction of one
    /// would fire early.
    /// </summary>
    private void FireFrom(ITimer timer, long slot, long now) =>
        timer.Change(WholeMilliseconds(Math.Max(slot * _slotTicks - now, 1)), Period);

    private static TimeSpan WholeMilliseconds(long ticks) => TimeSpan.FromMilliseconds(Math.Ceiling(TimeSpan.FromTicks(ticks).TotalMilliseconds));

    private void OnTimer()
    {
        if (!_tickGate.TryEnter()) return; // a tick is still under way (a busy machine): the next one catches this slot up
        long nowTicks;
        try
        {
            nowTicks = time.GetUtcNow().UtcTicks;
            var now = nowTicks / _slotTicks;
            var first = Interlocked.Exchange(ref _firstSlot, 0);
            // The timer was set again: nothing is owed from before. Never back: a tick queued before the timer stopped may
            // have run since and ticked that slot.
            if (first > _next) _next = first;
            // The clock went back (an NTP step): go on from now rather than wait for the old time to come again.
            if (_next > now + 1) _next = now;
            // Every slot whose start has passed, so a late tick (a busy machine) skips none; after a long pause (over an
            // interval), one round of all slots: each generator catches up what it owes by itself.
            if (now - _next >= Slots) _next = now - Slots + 1;
            for (; _next <= now; _next++) TickSlot((int)(_next % Slots));
        }
        finally
        {
            _tickGate.Exit();
        }
        if (Volatile.Read(ref _joined) == 0)
        {
            lock (_timerGate)
            {
                // Checked again under the gate: a join sets the timer under it after counting itself.
                if (_running && Volatile.Read(ref _joined) == 0)
                {
                    _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    _running = false;
                }
            }
        }
        else if (nowTicks % _slotTicks >= _slotTicks / 2)
        {
            // Half a slot or more past a slot's start: the timer runs on the machine's own clock and slots on the wall clock,
            // so after the wall clock was stepped by part of a slot (or drifted), every tick would come up to a slot late.
            // Set it again to fire at the next slot's start, counted from the time now (the tick took some).
            lock (_timerGate)
            {
                if (_running && _timer is not null) FireFrom(_timer, nowTicks / _slotTicks + 1, time.GetUtcNow().UtcTicks);
            }
        }
    }

    private void TickSlot(int slot)
    {
        lock (_slots[slot]) _due.AddRange(CollectionsMarshal.AsSpan(_slots[slot]));
        foreach (var channel in _due)
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
        _due.Clear();
    }
}
