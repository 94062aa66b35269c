using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;

namespace LongLived.Gateway.Relay;

/// <summary>
/// Periodically reads the head of every channel with local subscribers. A stream event lost at the tail (a silo died,
/// delivery gave up) shows up as a head beyond what a subscriber has, and the subscriber fills it from history.
/// The same call renews the generator lease of client channels.
/// </summary>
public sealed class HeadCheckService(ChannelHub hub, IClusterClient cluster, IOptions<GatewayOptions> options, ILogger<HeadCheckService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeadCheckInterval);
        while (await TickAsync(timer, stoppingToken))
        {
            await Parallel.ForEachAsync(hub.Channels.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = stoppingToken },
                async (channel, _) =>
                {
                    try
                    {
                        var head = await cluster.GetGrain<IChannelGrain>(channel.Name).Touch();
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
