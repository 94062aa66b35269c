namespace LongLived.Bench.BareRelay;

/// <summary>
/// "data mock for: &lt;id&gt;" on every own channel with a subscriber, every <c>Interval</c> (0: off), spread over the
/// interval in 100 slots by name hash, as the silo's GeneratorClock spreads them.
/// </summary>
public sealed class Generator(MemoryTopics topics, IConfiguration configuration) : BackgroundService
{
    private const int Slots = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = configuration.GetValue("Interval", TimeSpan.FromSeconds(1));
        if (interval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(interval / Slots);
        var slot = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var topic in topics.All)
                {
                    if (!topic.Name.StartsWith("client/", StringComparison.Ordinal) || !topic.HasSubscribers) continue;
                    if ((topic.Name.GetHashCode() & int.MaxValue) % Slots != slot) continue;
                    topic.Publish($"data mock for: {topic.Name[7..]}");
                }
                slot = (slot + 1) % Slots;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
