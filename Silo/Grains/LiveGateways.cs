using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// The gateways the directory lists as live, read by each silo every <see cref="ReadEvery"/>: a channel keeps the join of
/// a live gateway without that gateway renewing it channel by channel (one read per silo instead of a call per channel
/// and lease), and a joined channel stays active without calls. When a gateway leaves the directory (it died, or could
/// not renew for a whole lease), the channels on this silo joined to it are told (<see cref="IChannelGrain.GatewayGone"/>):
/// they stop sending to it and may be collected. A read that fails changes nothing: a join ends on the directory's word
/// or its own lease, never because the directory could not be reached.
/// </summary>
public sealed class LiveGateways(IGrainFactory grains, TimeProvider time, ILogger<LiveGateways> logger) : BackgroundService
{
    public static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    /// <summary>A gateway never listed while joined (its registration failed) is gone after this: longer than its directory lease.</summary>
    private static readonly TimeSpan NeverListedFor = TimeSpan.FromMinutes(5);

    private volatile HashSet<string> _live = new(StringComparer.Ordinal); // replaced whole by each read
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Joins> _joins = new(StringComparer.Ordinal); // by gateway: the channels on this silo joined to it

    private sealed class Joins(DateTimeOffset since)
    {
        public HashSet<string> Channels { get; } = new(StringComparer.Ordinal);
        public DateTimeOffset Since { get; } = since;
        public bool Listed { get; set; }
    }

    public bool IsLive(string gatewayId) => _live.Contains(gatewayId);

    /// <summary>A channel activation on this silo joined (or renewed its join to) the gateway.</summary>
    public void Joined(string gatewayId, string channel)
    {
        lock (_lock)
        {
            if (!_joins.TryGetValue(gatewayId, out var joins)) _joins[gatewayId] = joins = new Joins(time.GetUtcNow()) { Listed = IsLive(gatewayId) };
            joins.Channels.Add(channel);
        }
    }

    /// <summary>The channel's join to the gateway ended (left, expired, replaced, or the activation ended).</summary>
    public void Left(string gatewayId, string channel)
    {
        lock (_lock)
        {
            if (!_joins.TryGetValue(gatewayId, out var joins)) return;
            joins.Channels.Remove(channel);
            if (joins.Channels.Count == 0) _joins.Remove(gatewayId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReadEvery, time);
        while (await NextAsync(timer, stoppingToken))
        {
            var readAt = time.GetUtcNow();
            IReadOnlyList<string> ids;
            try
            {
                ids = await grains.GetGrain<IGatewayDirectory>(0).LiveIds().WaitAsync(CallTimeout, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug(ex, "Reading the live gateways failed; keeping the last answer");
                continue;
            }
            var live = new HashSet<string>(ids, StringComparer.Ordinal);
            _live = live;
            List<(string Gateway, string[] Channels)> gone = [];
            lock (_lock)
            {
                foreach (var (id, joins) in _joins)
                {
                    if (live.Contains(id)) joins.Listed = true;
                    else if (joins.Listed || readAt - joins.Since > NeverListedFor) gone.Add((id, [.. joins.Channels]));
                }
                foreach (var (id, _) in gone) _joins.Remove(id);
            }
            foreach (var (id, channels) in gone) await TellAsync(id, channels, readAt, stoppingToken);
        }
    }

    private async Task TellAsync(string gatewayId, string[] channels, DateTimeOffset readAt, CancellationToken stoppingToken)
    {
        logger.LogInformation("Gateway {Gateway} is no longer in the gateway directory: the {Count} channels on this silo joined to it stop sending to it", gatewayId, channels.Length);
        var failed = 0;
        await Parallel.ForEachAsync(channels, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = stoppingToken }, async (channel, _) =>
        {
            try
            {
                await grains.GetGrain<IChannelGrain>(channel).GatewayGone(gatewayId, readAt).WaitAsync(CallTimeout, stoppingToken);
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Told again after the next read.
                Interlocked.Increment(ref failed);
                lock (_lock)
                {
                    if (!_joins.TryGetValue(gatewayId, out var joins)) _joins[gatewayId] = joins = new Joins(readAt) { Listed = true };
                    joins.Channels.Add(channel);
                }
            }
        }).ContinueWith(_ => { }, TaskScheduler.Default); // a stop in the middle is not a failure
        if (failed > 0) logger.LogWarning("Telling {Failed} channels that gateway {Gateway} is gone failed; retrying after the next read", failed, gatewayId);
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
