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
        var watching = new List<ChannelHub.HubChannel>(); // channels with news or a check due (ChannelHub.Watch)
        string[] sweep = []; // names, not entries: a closed entry must not be kept until the pass ends
        using var timer = new PeriodicTimer(interval);
        for (long round = 0; await TickAsync(timer, stoppingToken); round++)
        {
            try
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
                var due = Due(watching, all, quietSince);
                // The sweep: each round a slice of the channels there were when this pass began, so every channel once a pass.
                var slice = round % sweepRounds;
                if (slice == 0) sweep = hub.NamesNow;
                var (from, to) = ((int)(sweep.Length * slice / sweepRounds), (int)(sweep.Length * (slice + 1) / sweepRounds));
                if (all)
                {
                    foreach (var c in hub.Channels) due.Add((c, "cluster-change"));
                }
                else
                {
                    var checking = due.Select(d => d.Channel).ToHashSet();
                    for (var i = from; i < to; i++)
                    {
                        if (sweep[i] is { } name && hub.TryGetChannel(name, out var c) && !c.Closed && !checking.Contains(c)) due.Add((c, "sweep"));
                    }
                }
                Array.Clear(sweep, from, to - from); // a channel that leaves is not kept until the pass ends
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
                            // Try again once quiet (next round).
                            hub.Heard(channel);
                            logger.LogWarning("Head check of channel {Channel} failed ({Error}); retrying next round", channel.Name, ex.Message);
                        }
                    }).ContinueWith(_ => { }, TaskScheduler.Default); // a stop in the middle of a round is not a failure
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A defect here must not stop the gateway (a failed background service stops the host): the next round runs.
                logger.LogError(ex, "A head-check round failed; the next one runs as usual");
            }
        }
    }

    /// <summary>
    /// The channels that went quiet after news, or whose delivery stream may have lost batches: only those the hub put
    /// before the head check, not every channel (at 50,000 idle channels, touching each one every round was most of the
    /// gateway's idle CPU beside the runtime's own). A channel still getting messages stays watched: its next message
    /// shows a hole, and once it goes quiet it is checked. <paramref name="all"/>: every channel is checked anyway, so
    /// this only takes what it would have been checked for.
    /// </summary>
    private List<(ChannelHub.HubChannel Channel, string Reason)> Due(List<ChannelHub.HubChannel> watching, bool all, long quietSince)
    {
        var due = new List<(ChannelHub.HubChannel Channel, string Reason)>();
        hub.TakeNews(watching);
        var kept = 0;
        for (var i = 0; i < watching.Count; i++)
        {
            var c = watching[i];
            var quiet = c.WentQuiet(quietSince);
            var failed = c.CheckDue;
            if (failed) c.CheckDue = false;
            if (!all && !c.Closed && (quiet || failed)) due.Add((c, quiet ? "traffic" : "delivery-error"));
            if (!c.Closed && c.HasUncheckedNews)
            {
                watching[kept++] = c; // news too recent to be quiet: look again next round
                continue;
            }
            // A full fence (ChannelHub.Heard has one too): either this sees the news written meanwhile, or Heard sees 0 and queues it.
            Interlocked.Exchange(ref c.Watched, 0);
            // News or a failure that came while it was looked at, after it was last watched: watch it again.
            if (!c.Closed && (c.HasUncheckedNews || c.CheckDue)) hub.Watch(c);
        }
        watching.RemoveRange(kept, watching.Count - kept);
        return due;
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
