using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Cluster;

/// <summary>
/// This gateway as the cluster knows it: its id, and the observer through which grains reach it. Client grains end a
/// session here (a newer Subscribe elsewhere, or Unsubscribe); channel grains say they restarted. Sessions and
/// delivery each listen to their event, so neither has to know the other.
/// </summary>
public sealed class GatewayObserver : IGatewayObserver
{
    private readonly Lazy<IGatewayObserver> _reference;

    public GatewayObserver(IClusterClient cluster) =>
        // Created on first use (the client is connected by then) and held here: Orleans holds observers weakly.
        _reference = new(() => cluster.CreateObjectReference<IGatewayObserver>(this), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>This gateway's identity in the cluster (unique per process).</summary>
    public string GatewayId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>The reference grains call back on.</summary>
    public IGatewayObserver Reference => _reference.Value;

    /// <summary>A client grain ended a session of this gateway (client id, session id, why).</summary>
    public event Action<string, Guid, SessionEndReason>? SessionEnded;

    /// <summary>A channel grain started a new activation, which knows no joins.</summary>
    public event Action<string>? Restarted;

    /// <summary>One of this gateway's delivery streams lost batches in a silo's cache (the shard).</summary>
    public event Action<uint>? DeliveryStreamMissed;

    /// <summary>A silo delivered a batch (<c>Orleans:Delivery=observer</c>).</summary>
    public event Action<DeliveryBatch>? Delivered;

    public Task Deliver(DeliveryBatch[] batches)
    {
        // Silos deliver the way the gateway's route says, so only a silo of an earlier version (which read Orleans:Delivery
        // itself) can call a gateway that listens on streams: fail the call, so that the silo logs why and tells the
        // gateway to fill from history, rather than succeed with the messages dropped.
        if (Delivered is not { } delivered)
        {
            return Task.FromException(new InvalidOperationException(
                $"gateway {GatewayId} receives on delivery streams, but a silo delivered by observer: that silo runs an earlier version, which must have Orleans:Delivery set as the gateways do"));
        }
        foreach (var batch in batches) delivered(batch);
        return Task.CompletedTask;
    }

    public Task DeliveryMissed(string gatewayId, uint shard)
    {
        if (gatewayId == GatewayId) DeliveryStreamMissed?.Invoke(shard);
        return Task.CompletedTask;
    }

    public Task EndSession(string clientId, Guid sessionId, SessionEndReason reason)
    {
        SessionEnded?.Invoke(clientId, sessionId, reason);
        return Task.CompletedTask;
    }

    public Task ChannelRestarted(string channel)
    {
        Restarted?.Invoke(channel);
        return Task.CompletedTask;
    }
}
