using Microsoft.Extensions.Diagnostics.HealthChecks;
using LongLived.Gateway.Cluster;

namespace LongLived.Gateway.Operations;

/// <summary>Healthy while serving and connected to the cluster; grpc.health.v1 and /healthz both report it.</summary>
public sealed class GatewayHealthCheck(DrainSignal drain, ClusterConnection cluster) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            drain.IsDraining ? HealthCheckResult.Unhealthy("draining")
            : !cluster.IsConnected ? HealthCheckResult.Unhealthy("no connection to the Orleans cluster")
            : HealthCheckResult.Healthy("serving"));
}
