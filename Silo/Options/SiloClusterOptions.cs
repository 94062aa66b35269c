namespace LongLived.Silo.Options;

/// <summary>Section "Orleans": how this silo joins its cluster.</summary>
public sealed class SiloClusterOptions
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "longlived";
    public string ServiceId { get; set; } = "longlived";

    /// <summary>Silo-to-silo port. Extra local silos take the next ports.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port gateways (Orleans clients) connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Localhost clustering: the primary silo's port (holds the membership table). 0: this silo is the primary.</summary>
    public int PrimarySiloPort { get; set; }

    /// <summary>
    /// A Redis connection string: switches clustering, grain storage and the pub-sub store to Redis, so several silos
    /// share membership and a silo's death loses no stored offset. Empty: localhost clustering, in-memory storage.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// With Redis: the address other silos and gateways reach this silo at: an IP, or a host name resolved at start
    /// (in a container, its service name resolves to the container's own address).
    /// </summary>
    public string AdvertisedIP { get; set; } = "127.0.0.1";

    /// <summary>With Redis: listen on all interfaces (containers) instead of the advertised address only.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>
    /// Failure detection: a silo missing this many probes of ProbeTimeout each is voted dead and its grains move.
    /// Lower is faster failover, but a long GC pause or a busy machine can then evict a healthy silo.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>
    /// In a Kubernetes pod: Orleans' Kubernetes hosting (the pod name as silo name, silos whose pods are gone declared dead
    /// at once). Needs a service account allowed to get, list, watch, patch (and delete) pods: deploy/k8s/base.
    /// </summary>
    public bool KubernetesHosting { get; set; }

    // The delivery streams' settings (StreamProvider, StreamQueues, …) are in the same section: DeliveryStreamOptions.
}
