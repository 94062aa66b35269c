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

        public Task Generate()
        {
            lock (Ticks) Ticks.Add(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
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
}
