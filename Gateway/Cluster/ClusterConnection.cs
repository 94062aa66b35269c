namespace LongLived.Gateway.Cluster;

/// <summary>Whether the Orleans client has a live connection to at least one silo (for health), and when that changed.</summary>
public sealed class ClusterConnection
{
    private int _gateways = -1; // unknown until the first change: the client started connected
    private long _changes;

    public bool IsConnected => Volatile.Read(ref _gateways) != 0;

    /// <summary>How often the set of connected silos changed: a silo lost or added may have taken stream events with it.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    public void OnGatewayCountChanged(int connected)
    {
        Volatile.Write(ref _gateways, connected);
        Interlocked.Increment(ref _changes);
    }
}
