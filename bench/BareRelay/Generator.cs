namespace LongLived.Bench.BareRelay;

/// <summary>
/// "data mock for: &lt;id&gt;" on every own channel with a subscriber, every <c>Interval</c> (0: off), spread over the
/// interval in <see cref="MemoryTopics.Slots"/> slots by name hash, as the silo's GeneratorClock spreads them. A tick
/// touches only its slot's channels, and a late tick (a busy machine) publishes every slot whose time has passed, so
/// none is skipped: the baseline does what the product's clock does, no more.
/// </summary>
public sealed class Generator(MemoryTopics topics, IConfiguration configuration) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = configuration.GetValue("Interval", TimeSpan.FromSeconds(1));
        if (interval <= TimeSpan.Zero) return;
        var slotTicks = interval.Ticks / MemoryTopics.Slots;
        var next = DateTime.UtcNow.Ticks / slotTicks + 1; // the next slot to tick, counted from the epoch
        var due = new List<MemoryTopics.Topic>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = TimeSpan.FromTicks(next * slotTicks - DateTime.UtcNow.Ticks);
                // Rounded up to whole milliseconds, as the silo's clock: a fraction of one is a delay of 0, and the loop would spin.
                if (wait > TimeSpan.Zero) await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), stoppingToken);
                var now = DateTime.UtcNow.Ticks / slotTicks;
                if (now - next >= MemoryTopics.Slots) next = now - MemoryTopics.Slots + 1;
                for (; next <= now; next++)
                {
                    topics.Generating((int)(next % MemoryTopics.Slots), due);
                    foreach (var topic in due) topic.Publish($"data mock for: {topic.Name[7..]}");
                    due.Clear();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
