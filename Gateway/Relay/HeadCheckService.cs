using LongLived.Contracts.Grains;
using LongLived.Gateway.Admin;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;

namespace LongLived.Gateway.Relay;

/// <summary>
/// Finds stream events lost at the tail (a silo died, delivery gave up): reads the head of a channel with local
/// subscribers and lets each fill what it lacks from history. The same call renews the generator lease.
/// Its cost follows traffic, not the number of channels: each round checks the channels that had news in the last
/// two rounds (the round after the last message catches a lost tail), every channel once after the set of silos
/// changed, and the quiet rest spread over <see cref="GatewayOptions.QuietCheckInterval"/>. 50,000 idle streams cost
/// nothing but that slow sweep.
/// </summary>
public sealed class HeadCheckService(ChannelHub hub, IClusterClient cluster, ClusterConnection connection, GatewayMetrics metrics,
    IOptions<GatewayOptions> options, ILogger<HeadCheckService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeadCheckInterval;
        var sweepRounds = Math.Max(1, (long)(options.Value.QuietCheckInterval / interval));
        var clusterChanges = connection.Changes;
        using var timer = new PeriodicTimer(interval);
        for (long round = 0; await TickAsync(timer, stoppingToken); round++)
        {
            var now = Environment.TickCount64;
            var recent = now - 2 * (long)interval.TotalMilliseconds;
            var changes = connection.Changes;
            var all = changes != clusterChanges;
            clusterChanges = changes;
            if (all) logger.LogInformation("The set of silos changed: checking the head of all {Count} channels", hub.Channels.Count());
            var due = hub.Channels.Select(c => (Channel: c, Reason:
                    all ? "cluster-change"
                    : Volatile.Read(ref c.HeardAt) >= recent ? "traffic"
                    : (round + (StringComparer.Ordinal.GetHashCode(c.Name) & int.MaxValue)) % sweepRounds == 0 ? "sweep"
                    : null))
                .Where(d => d.Reason is not null).ToArray();
            await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = stoppingToken },
                async (check, _) =>
                {
                    var channel = check.Channel;
                    try
                    {
                        metrics.HeadChecked(check.Reason!);
                        var head = await cluster.GetGrain<IChannelGrain>(channel.Name).Touch();
                        if (head.Head > channel.SeenHead || head.Head < channel.SeenHead)
                        {
                            // News (or a new numbering): keep checking this channel until it is quiet again.
                            channel.SeenHead = head.Head;
                            Volatile.Write(ref channel.HeardAt, Environment.TickCount64);
                        }
                        foreach (var sink in channel.Sinks) sink.OfferHead(channel.Name, head);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        logger.LogWarning(ex, "Head check of channel {Channel} failed", channel.Name);
                    }
                }).ContinueWith(_ => { }, TaskScheduler.Default); // a stop in the middle of a round is not a failure
        }
    }

    /// <summary>The next tick, or false once the host stops (instead of an exception the host would log as a failure).</summary>
    internal static async Task<bool> TickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
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
