namespace LongLived.Hosting;

/// <summary>
/// Section "Orleans": the cluster, as silos join it and gateways (Orleans clients) find it. One type for both sides,
/// so a setting means the same on each. The delivery streams' settings (StreamProvider, StreamQueues, …) are in the
/// same section, read by the streams' own type (<c>DeliveryStreamOptions</c>).
/// </summary>
public sealed class OrleansClusterOptions
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "longlived";
    public string ServiceId { get; set; } = "longlived";

    /// <summary>
    /// A Redis connection string: switches clustering, grain storage and the pub-sub store to Redis, so several silos
    /// share membership, a silo's death loses no stored offset, and gateways find the silos in the membership table.
    /// Empty: localhost clustering, in-memory storage.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>Silo: silo-to-silo port. Extra local silos take the next ports.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Silo: the silo gateway's port, which gateways (Orleans clients) connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Gateway, localhost clustering: the silo gateways' ports (empty: <see cref="GatewayPort"/>). No default in the
    /// array itself, because configuration binding appends to an array instead of replacing it.
    /// </summary>
    public int[] GatewayPorts { get; set; } = [];

    public int[] EffectiveGatewayPorts => GatewayPorts.Length > 0 ? GatewayPorts : [GatewayPort];

    /// <summary>Silo, localhost clustering: the primary silo's port (holds the membership table). 0: this silo is the primary.</summary>
    public int PrimarySiloPort { get; set; }

    /// <summary>
    /// Silo, with Redis: the address other silos and gateways reach this silo at: an IP, or a host name resolved at start
    /// (in a container, its service name resolves to the container's own address).
    /// </summary>
    public string AdvertisedIP { get; set; } = "127.0.0.1";

    /// <summary>Silo, with Redis: listen on all interfaces (containers) instead of the advertised address only.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>
    /// Silo failure detection: a silo missing this many probes of ProbeTimeout each is voted dead and its grains move.
    /// Lower is faster failover, but a long GC pause or a busy machine can then evict a healthy silo.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>
    /// Silo in a Kubernetes pod: Orleans' Kubernetes hosting (the pod name as silo name, silos whose pods are gone declared
    /// dead at once). Needs a service account allowed to get, list, watch, patch (and delete) pods: deploy/k8s/base.
    /// </summary>
    public bool KubernetesHosting { get; set; }
}
