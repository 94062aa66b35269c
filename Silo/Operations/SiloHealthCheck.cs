using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace LongLived.Silo.Operations;

/// <summary>Healthy when this silo is an active member of its cluster (not joining, not shutting down, not declared dead).</summary>
public sealed class SiloHealthCheck(IClusterMembershipService membership, ILocalSiloDetails local) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress);
        var members = membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        var description = $"silo {local.SiloAddress} is {status}; {members} active silo(s) in the cluster";
        return Task.FromResult(status == SiloStatus.Active ? HealthCheckResult.Healthy(description) : HealthCheckResult.Unhealthy(description));
    }
}
