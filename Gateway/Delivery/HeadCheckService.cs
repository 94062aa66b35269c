using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Cluster;

namespace LongLived.Gateway.Delivery;

/// <summary>
/// Finds stream events lost at the tail (a silo died, delivery gave up): reads the head of a channel with local
/// subscribers and lets each fill what it lacks from history. The same call renews this gateway's join and the
/// generator lease.
/// Its cost follows changes in traffic and failures, not the number of channels nor their messages: each round checks
/// the channels that went quiet since the last round (news, then none for half a round: their last message may have
/// been lost; a check that finds more makes the channel due again, and the next one fills what is still missing), the
/// channels of a delivery stream that reported an error, every channel once after the set of active silos changed
/// (read from the management grain each round), the connection to the cluster came back or the gateway directory had
/// forgotten this gateway, and every channel once per <see cref="GatewayOptions.QuietCheckInterval"/> (the sweep, a last
/// resort). A busy channel needs no check: its next message shows a hole. Joins need no renewal per channel: they last
/// while this gateway is in the directory, renewed here every 30 s.
/// </summary>
public sealed class HeadCheckService(ChannelHub hub, IClusterClient cluster, ClusterConnection connection,
    IOptions<GatewayOptions> options, ILogger<HeadCheckService> logger) : BackgroundService
{
    private static readonly TimeSpan CallTimeout = ChannelHub.CallTimeout;
    private static readonly TimeSpan DirectoryRenewal = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeadCheckInterval;
        var sweepRounds = Math.Max(1, (long)(options.Value.QuietCheckInterval / interval));
        var directoryRounds = Math.Max(1, (long)(DirectoryRenewal / interval));
        var clusterChanges = connection.Changes;
        string? silos = null;
        using var timer = new PeriodicTimer(interval);
        for (long round = 0; await TickAsync(timer, stoppingToken); round++)
        {
            var forgotten = round % directoryRounds == 0 && await RenewDirectoryAsync();
            await hub.RetryLeavesAsync(stoppingToken);
            var now = Environment.TickCount64;
            var quietSince = now - (long)interval.TotalMilliseconds / 2;
            var changes = connection.Changes;
            var all = changes != clusterChanges || forgotten;
            clusterChanges = changes;
            // A silo that died took its activations (joins, generator timers) and, with in-memory pub-sub, stream
            // subscriptions with it; this gateway need not have been connected to it to be affected. One call a round.
            var current = await ActiveSilosAsync();
            if (current is not null && current != silos)
            {
                all |= silos is not null;
                silos = current;
            }
            if (all)
            {
                logger.LogInformation("{Why}: joining and checking all {Count} channels again",
                    forgotten ? "The gateway directory had forgotten this gateway" : "The set of silos or the connection to them changed", hub.Channels.Count());
                try
                {
                    await hub.EnsureSubscribedAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Checking the delivery stream subscriptions failed; next round tries again");
                    clusterChanges--; // not done: the next round is a full one too
                }
            }
            // One pass, no per-channel work beyond a comparison: at 10,000 idle channels this loop is most of the round.
            var due = new List<(ChannelHub.HubChannel Channel, string Reason)>();
            foreach (var c in hub.Channels)
            {
                var quiet = c.WentQuiet(quietSince); // first: a full round also covers the news it would be checked for
                var failed = c.CheckDue;
                if (failed) c.CheckDue = false;
                var reason = all ? "cluster-change"
                    : quiet ? "traffic"
                    : failed ? "delivery-error"
                    : (round + c.SweepSlot) % sweepRounds == 0 ? "sweep"
                    : null;
                if (reason is not null) due.Add((c, reason));
            }
            await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = stoppingToken },
                async (check, _) =>
                {
                    var channel = check.Channel;
                    try
                    {
                        // Join, not just read: renews this gateway's join (a new activation after a silo loss has none).
                        // Bounded: a call to a silo that just died hangs until it is declared dead, and must not hold the round.
                        await hub.RejoinAsync(channel, check.Reason, stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        // Try again next round.
                        Volatile.Write(ref channel.HeardAt, Environment.TickCount64);
                        logger.LogWarning("Head check of channel {Channel} failed ({Error}); retrying next round", channel.Name, ex.Message);
                    }
                }).ContinueWith(_ => { }, TaskScheduler.Default); // a stop in the middle of a round is not a failure
        }
    }

    /// <summary>
    /// Keeps this gateway in the directory (see <see cref="IGatewayDirectory"/>), which keeps its joins; true if the
    /// directory had forgotten it (its joins ended).
    /// </summary>
    private async Task<bool> RenewDirectoryAsync()
    {
        try
        {
            return await hub.RegisterAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogDebug(ex, "Renewing this gateway in the directory failed; next time");
            return false;
        }
    }

    private IManagementGrain? _management;

    /// <summary>The active silos as one comparable string, or null when the cluster cannot say right now.</summary>
    private async Task<string?> ActiveSilosAsync()
    {
        try
        {
            _management ??= cluster.GetGrain<IManagementGrain>(0);
            var hosts = await _management.GetHosts(onlyActive: true).WaitAsync(CallTimeout);
            return string.Join(',', hosts.Keys.Select(s => s.ToString()).Order(StringComparer.Ordinal));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogDebug(ex, "Reading the active silos failed");
            return null;
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
