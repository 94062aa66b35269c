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

    /// <summary>How often the stream pulling agents poll their queues: the latency floor of the live path.</summary>
    public TimeSpan StreamPollPeriod { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Number of in-memory stream queues (must match the gateways).</summary>
    public int StreamQueues { get; set; } = 8;
}
