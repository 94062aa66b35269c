using LongLived.Silo.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LongLived.Tests;

/// <summary>The silo's one clock for every demo generator: each channel ticked in its slot, once per interval, until it leaves.</summary>
public sealed class GeneratorClockTests
{
    private sealed class Channel(TimeProvider? time = null) : IGeneratingChannel
    {
        public List<DateTimeOffset> Ticks { get; } = [];

        public int Count
        {
            get { lock (Ticks) return Ticks.Count; }
        }

        public void Tick()
        {
            lock (Ticks) Ticks.Add((time ?? TimeProvider.System).GetUtcNow());
        }
    }

    /// <summary>A clock of its own for each test, starting 1 ms into an interval (its timers fire as it is moved, in order, each at its time).</summary>
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero); // the start of an interval
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private static DateTimeOffset SlotStart(int slot, int n) => Start + Interval * n + Interval / GeneratorClock.Slots * slot;
    private static GeneratorClock Clock(TimeProvider time) =>
        new(Options.Create(new GeneratorOptions { Interval = Interval }), time, NullLogger<GeneratorClock>.Instance);

    /// <summary>
    /// Moves <paramref name="time"/> to <paramref name="target"/> a millisecond at a time (every timer here is due at a whole
    /// one, and slots are 2 ms): a fake clock moved further at once fires every timer due on the way, but each sees the
    /// time it is moved to.
    /// </summary>
    private static void RunTo(FakeTimeProvider time, DateTimeOffset target)
    {
        const long Millisecond = TimeSpan.TicksPerMillisecond;
        while (time.GetUtcNow() < target)
        {
            var next = new DateTimeOffset((time.GetUtcNow().UtcTicks / Millisecond + 1) * Millisecond, TimeSpan.Zero);
            time.SetUtcNow(next < target ? next : target);
        }
    }

    [Fact]
    public async Task A_channel_is_ticked_at_its_slots_start_once_per_interval_until_it_leaves()
    {
        // On a fake clock, so where a tick falls is exact, not a question of the machine's load.
        var time = new FakeTimeProvider(Start + TimeSpan.FromMilliseconds(1));
        using var clock = Clock(time);
        var (early, late) = (new Channel(time), new Channel(time));
        clock.Join(10, early); // 20 ms into each interval
        clock.Join(60, late); // 120 ms into it
        await clock.StartAsync(CancellationToken.None);

        for (var n = 0; n < 5; n++)
        {
            foreach (var (channel, slot) in new[] { (early, 10), (late, 60) })
            {
                var before = channel.Count;
                RunTo(time, SlotStart(slot, n) - TimeSpan.FromTicks(1));
                Assert.Equal(before, channel.Count); // not early
                RunTo(time, SlotStart(slot, n));
                Assert.Equal(before + 1, channel.Count); // on time
            }
        }
        clock.Leave(10, early);
        RunTo(time, SlotStart(0, 8));
        await clock.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 5).Select(n => SlotStart(10, n)), early.Ticks); // none after it left
        Assert.Equal(Enumerable.Range(0, 8).Select(n => SlotStart(60, n)), late.Ticks);
    }

    /// <summary>A clock as a host with NTP sees it: it can be stepped. Its timers run on <paramref name="inner"/>'s time.</summary>
    private sealed class SteppedTime(TimeProvider inner) : TimeProvider
    {
        public TimeSpan Step { get; set; }
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Step;
        public override long GetTimestamp() => inner.GetTimestamp();
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => inner.CreateTimer(callback, state, dueTime, period);
    }

    [Fact]
    public async Task A_clock_stepped_back_an_hour_does_not_stop_the_ticks()
    {
        // On a fake clock (it was on the machine's, and a loaded machine missed a tick now and then).
        var fake = new FakeTimeProvider(Start + TimeSpan.FromMilliseconds(1));
        var time = new SteppedTime(fake);
        using var clock = Clock(time);
        var channel = new Channel(fake);
        clock.Join(30, channel);
        await clock.StartAsync(CancellationToken.None);
        RunTo(fake, SlotStart(0, 3));
        Assert.Equal(3, channel.Count);

        time.Step = TimeSpan.FromHours(-1);
        RunTo(fake, SlotStart(0, 8));
        await clock.StopAsync(CancellationToken.None);

        // Not an hour of silence: the slot's ticks go on at the same times (an hour is whole intervals).
        Assert.Equal(Enumerable.Range(3, 5).Select(n => SlotStart(30, n)), channel.Ticks.Skip(3));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public async Task After_the_clock_is_stepped_by_part_of_a_slot_ticks_come_at_slot_starts_again(int stepMs)
    {
        // The timer counts on the machine's own clock, slots are on the wall clock: stepped by half a slot (2 ms here), the
        // wall clock put every tick half a slot late, until the timer was next set.
        var fake = new FakeTimeProvider(Start + TimeSpan.FromMilliseconds(1));
        var time = new SteppedTime(fake);
        using var clock = Clock(time);
        var channel = new Channel(time); // ticks as the wall clock sees them
        clock.Join(30, channel);
        await clock.StartAsync(CancellationToken.None);
        RunTo(fake, SlotStart(0, 3));
        Assert.Equal(Enumerable.Range(0, 3).Select(n => SlotStart(30, n)), channel.Ticks);

        time.Step = TimeSpan.FromMilliseconds(stepMs);
        RunTo(fake, SlotStart(0, 8));
        await clock.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(3, 5).Select(n => SlotStart(30, n)), channel.Ticks.Skip(3));
    }

    /// <summary>A clock whose timers count their firings.</summary>
    private sealed class FiringsCounted(TimeProvider inner) : TimeProvider
    {
        private int _firings;
        public int Firings => Volatile.Read(ref _firings);
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();
        public override long GetTimestamp() => inner.GetTimestamp();
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(s =>
            {
                Interlocked.Increment(ref _firings);
                callback(s);
            }, state, dueTime, period);
    }

    [Fact]
    public async Task The_clock_wakes_only_while_a_generator_is_joined()
    {
        // A silo without own channels generating woke its timer thread about 350 times a second for nothing (0.02–0.05 cores
        // with no client at all).
        var fake = new FakeTimeProvider(Start + TimeSpan.FromMilliseconds(1));
        var time = new FiringsCounted(fake);
        using var clock = Clock(time);
        await clock.StartAsync(CancellationToken.None);
        RunTo(fake, fake.GetUtcNow() + TimeSpan.FromSeconds(1));
        Assert.Equal(0, time.Firings); // nothing joined: no wake-up

        var channel = new Channel(fake);
        clock.Join(30, channel);
        RunTo(fake, fake.GetUtcNow() + TimeSpan.FromSeconds(1)); // five intervals of a hundred slots
        Assert.Equal(500, time.Firings); // one wake-up per slot
        Assert.Equal(5, channel.Count);

        clock.Leave(30, channel);
        RunTo(fake, fake.GetUtcNow() + TimeSpan.FromSeconds(1));
        Assert.Equal(501, time.Firings); // the first tick after it left saw none joined and stopped the timer
        Assert.Equal(5, channel.Count);

        clock.Join(30, channel); // and it starts again
        RunTo(fake, SlotStart(30, 16));
        await clock.StopAsync(CancellationToken.None);
        Assert.Equal(SlotStart(30, 15), channel.Ticks[^2]);
        Assert.Equal(SlotStart(30, 16), channel.Ticks[^1]);
    }

    /// <summary>The system clock, counting how often it is read.</summary>
    private sealed class CountedTime : TimeProvider
    {
        private int _reads;
        public int Reads => Volatile.Read(ref _reads);
        public override DateTimeOffset GetUtcNow()
        {
            Interlocked.Increment(ref _reads);
            return base.GetUtcNow();
        }
    }

    [Fact]
    public async Task Waiting_for_the_next_slot_does_not_spin()
    {
        // A wait under a millisecond is a timer due at once (timers count whole milliseconds): waiting out the last fraction
        // of each slot that way read the clock hundreds of times per slot (most of the clock's 7.8 % of a silo at 10,000 channels).
        var time = new CountedTime();
        using var clock = new GeneratorClock(Options.Create(new GeneratorOptions { Interval = TimeSpan.FromSeconds(1) }), time, NullLogger<GeneratorClock>.Instance);
        var channels = Enumerable.Range(0, GeneratorClock.Slots).Select(_ => new Channel()).ToArray();
        for (var slot = 0; slot < channels.Length; slot++) clock.Join(slot, channels[slot]);
        await Task.Run(() => clock.StartAsync(CancellationToken.None)); // on the thread pool, as in a host: not on the test's context
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await clock.StopAsync(CancellationToken.None);

        var slots = watch.Elapsed.TotalMilliseconds / 10;
        Assert.True(channels.Sum(c => c.Ticks.Count) > 0, "no slot was ticked: the clock did not run");
        Assert.True(time.Reads <= slots * 6, $"{time.Reads} clock reads in {slots:F0} slots of 10 ms");
    }

    [Fact]
    public void A_generator_due_far_ahead_or_long_ago_is_due_once_now_and_otherwise_keeps_its_time()
    {
        var interval = TimeSpan.FromSeconds(1);
        var clock = new GeneratorClock(Options.Create(new GeneratorOptions { Interval = interval }), TimeProvider.System, NullLogger<GeneratorClock>.Instance);
        var now = DateTimeOffset.UtcNow;

        foreach (var due in new[] { now.AddHours(1), now.AddSeconds(-10) }) // the clock stepped back; the silo paused
        {
            var realigned = clock.Realign(7, due, now);
            Assert.InRange(realigned, now - interval, now);
            Assert.Equal(7 * interval.Ticks / GeneratorClock.Slots, realigned.UtcTicks % interval.Ticks);
        }
        foreach (var due in new[] { now.AddMilliseconds(500), now.AddSeconds(-2) }) // on time, or a little late
        {
            Assert.Equal(due, clock.Realign(7, due, now));
        }
    }
}
