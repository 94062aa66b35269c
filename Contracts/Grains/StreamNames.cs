namespace LongLived.Contracts.Grains;

/// <summary>
/// Delivery runs on Orleans streams of provider "channels": each gateway subscribes to a few streams of its own
/// (namespace "gateway", key "&lt;gateway id&gt;/&lt;shard&gt;"), and a channel grain sends each batch of messages
/// once to every gateway that joined it, on the shard its name hashes to. A gateway's stream subscriptions are
/// O(shards), whatever the number of clients and channels it serves.
/// </summary>
public static class StreamNames
{
    public const string Provider = "channels";
    public const string GatewayNamespace = "gateway";
    /// <summary>Grain storage for channel and client state, and the pub-sub store streams need on silos.</summary>
    public const string ChannelStorage = "channels";
    public const string ClientStorage = "clients";
    public const string PubSubStore = "PubSubStore";

    /// <summary>The key (in <see cref="GatewayNamespace"/>) of the stream of <paramref name="gateway"/> that carries <paramref name="channel"/>.</summary>
    public static string DeliveryKey(GatewayRoute gateway, string channel) => ShardKey(gateway.GatewayId, Fnv1a(channel) % (uint)Math.Max(gateway.Shards, 1));

    public static string ShardKey(string gatewayId, uint shard) => $"{gatewayId}/{shard}";

    /// <summary>A hash both sides compute alike (string.GetHashCode differs per process).</summary>
    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return hash;
    }
}

/// <summary>Where a channel grain sends a gateway's messages: its id and how many delivery streams it listens on.</summary>
[GenerateSerializer, Immutable, Alias("ll.GatewayRoute")]
public sealed record GatewayRoute(string GatewayId, int Shards);

/// <summary>One stream event: consecutive messages of one channel (a group commit's worth).</summary>
[GenerateSerializer, Immutable, Alias("ll.DeliveryBatch")]
public sealed record DeliveryBatch(ChannelMessage[] Messages);
