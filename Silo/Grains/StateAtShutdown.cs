using StackExchange.Redis;

namespace LongLived.Silo.Grains;

/// <summary>
/// In embedded mode grain storage is in memory, held by storage grains on the cluster's silos. When the last silo stops,
/// those grains go first, so what an activation would write as it ends has nowhere to go: each write used to fail with
/// "No active nodes are compatible with grain memorystorage" and a dozen error lines. Such writes are skipped (the state
/// ends with the process either way); with Redis, or while another silo is active, they happen as usual.
/// </summary>
public sealed class StateAtShutdown(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    IHostApplicationLifetime lifetime,
    ILogger<StateAtShutdown> logger,
    IConnectionMultiplexer? redis = null)
{
    private int _said;

    /// <summary>True when the last silo is stopping with in-memory storage: a write now cannot be stored anywhere.</summary>
    public bool IsLost()
    {
        if (redis is not null || !lifetime.ApplicationStopping.IsCancellationRequested) return false;
        if (membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress))) return false;
        if (Interlocked.Exchange(ref _said, 1) == 0) logger.LogInformation("Last silo stopping: in-memory channel histories and client state end with it (embedded mode)");
        return true;
    }
}
