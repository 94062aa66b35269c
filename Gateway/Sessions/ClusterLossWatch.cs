using Grpc.Core;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Cluster;
using LongLived.Gateway.Delivery;

namespace LongLived.Gateway.Sessions;

/// <summary>
/// While the cluster is unreachable, streams stay open: nothing is lost, they fill the gap from history when it is
/// back. If it stays away longer than Gateway:ClusterLossTimeout, they end with UNAVAILABLE so their clients can try
/// another gateway that may still reach it.
/// </summary>
public sealed class ClusterLossWatch(ClusterConnection cluster, SessionRegistry sessions, IOptions<GatewayOptions> options, ILogger<ClusterLossWatch> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timeout = options.Value.ClusterLossTimeout;
        DateTimeOffset? lostAt = null;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await HeadCheckService.TickAsync(timer, stoppingToken))
        {
            if (cluster.IsConnected)
            {
                if (lostAt is not null) logger.LogInformation("Cluster connection back after {Seconds:0.0} s", (DateTimeOffset.UtcNow - lostAt.Value).TotalSeconds);
                lostAt = null;
                continue;
            }
            lostAt ??= DateTimeOffset.UtcNow;
            if (DateTimeOffset.UtcNow - lostAt < timeout || sessions.Count == 0) continue;
            logger.LogWarning("Cluster unreachable for {Timeout}: ending {Count} streams with UNAVAILABLE", timeout, sessions.Count);
            foreach (var session in sessions.Sessions)
            {
                session.End(new Status(StatusCode.Unavailable, "cluster unavailable from this gateway; resubscribe with your positions"));
            }
        }
    }
}
