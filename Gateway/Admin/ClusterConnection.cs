namespace LongLived.Gateway.Admin;

/// <summary>Whether the Orleans client has a live connection to at least one silo (for health).</summary>
public sealed class ClusterConnection
{
    private int _gateways = -1; // unknown until the first change: the client started connected

    public bool IsConnected => Volatile.Read(ref _gateways) != 0;

    public void OnGatewayCountChanged(int connected) => Volatile.Write(ref _gateways, connected);
}
