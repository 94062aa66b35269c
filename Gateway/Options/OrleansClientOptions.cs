namespace LongLived.Gateway.Options;

/// <summary>Section "Orleans": the cluster this gateway is a client of.</summary>
public sealed class OrleansClientOptions
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "longlived";
    public string ServiceId { get; set; } = "longlived";

    /// <summary>A Redis connection string: find the silos through the Redis membership table. Empty: localhost clustering.</summary>
    public string? Redis { get; set; }

    /// <summary>Localhost clustering: the silos' gateway ports (empty: 30000). No default in the array itself,
    /// because configuration binding appends to an array instead of replacing it.</summary>
    public int[] GatewayPorts { get; set; } = [];

    public int[] EffectiveGatewayPorts => GatewayPorts.Length > 0 ? GatewayPorts : [30000];

    // The delivery streams' settings (StreamProvider, StreamQueues, …) are in the same section: DeliveryStreamOptions.
}
