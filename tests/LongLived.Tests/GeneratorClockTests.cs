using LongLived.Silo.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LongLived.Tests;

/// <summary>The silo's one clock for every demo generator: each channel ticked in its slot, once per interval, until it leaves.</summary>
public sealed class GeneratorClockTests
{
    private sealed class Channel : IGeneratingChannel
    {
        public List<DateTimeOffset> Ticks { get; } = [];

        public void Tick()
        {
            lock (Ticks) Ticks.Add(DateTimeOffset.UtcNow);
        }
    }

    [Fact]
    public async Task A_channel_is_ticked_in_its_slot_once_per_interval_until_it_leaves()
    {
        var interval = TimeSpan.FromMilliseconds(200);
        using var clock = new GeneratorClock(Options.Create(new GeneratorOptions { Interval = interval }), TimeProvider.System, NullLogger<GeneratorClock>.Instance);
        await clock.StartAsync(CancellationToken.None);
        var (early, late) = (new Channel(), new Channel());
        clock.Join(10, early); // 20 ms into each interval
        clock.Join(60, late); // 120 ms into it

        await Task.Delay(interval * 5);
        clock.Leave(10, early);
        var left = early.Ticks.Count;
        await Task.Delay(interval * 3);
        await clock.StopAsync(CancellationToken.None);

        Assert.InRange(left, 3, 6);
        Assert.Equal(left, early.Ticks.Count); // none after it left
        Assert.InRange(late.Ticks.Count, 6, 9);
        // Each tick at or after its slot's start (the clock never runs early), and mostly soon after it.
        foreach (var (channel, slot) in new[] { (early, 10), (late, 60) })
        {
            var offsets = channel.Ticks.Select(t => (t.UtcTicks % interval.Ticks - slot * (interval.Ticks / GeneratorClock.Slots)) / TimeSpan.TicksPerMillisecond).ToList();
            Assert.True(offsets.Count(o => o is >= 0 and <= 40) >= offsets.Count * 3 / 4, $"slot {slot}: ms after the slot's start: {string.Join(", ", offsets)}");
        }
    }

    /// <summary>The system clock as a host with NTP sees it: it can be stepped.</summary>
    private sealed class SteppedTime : TimeProvider
    {
        public TimeSpan Step { get; set; }
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Step;
    }

    [Fact]
    public async Task A_clock_stepped_back_an_hour_does_not_stop_the_ticks()
    {
        var interval = TimeSpan.FromMilliseconds(200);
        var time = new SteppedTime();
        using var clock = new GeneratorClock(Options.Create(new GeneratorOptions { Interval = interval }), time, NullLogger<GeneratorClock>.Instance);
        await clock.StartAsync(CancellationToken.None);
        var channel = new Channel();
        clock.Join(30, channel);
        await Task.Delay(interval * 3);

        time.Step = TimeSpan.FromHours(-1);
        var before = channel.Ticks.Count;
        await Task.Delay(interval * 5);
        await clock.StopAsync(CancellationToken.None);

        Assert.True(channel.Ticks.Count - before >= 3, $"{channel.Ticks.Count - before} ticks in the 5 intervals after the step");
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
