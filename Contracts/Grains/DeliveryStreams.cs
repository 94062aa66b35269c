namespace LongLived.Contracts.Grains;

/// <summary>
/// Delivery runs on Orleans streams of provider "delivery": each gateway subscribes to a few streams of its own
/// (namespace "gateway", key "&lt;gateway id&gt;/&lt;shard&gt;"), and a channel grain sends each batch of messages
/// once to every gateway that joined it, on the shard its name hashes to. A gateway's stream subscriptions are
/// O(shards), whatever the number of clients and channels it serves.
/// </summary>
public static class DeliveryStreams
{
    public const string Provider = "delivery";
    public const string GatewayNamespace = "gateway";

    /// <summary>The key (in <see cref="GatewayNamespace"/>) of the stream of <paramref name="gateway"/> that carries <paramref name="channel"/>.</summary>
    public static string Key(GatewayRoute gateway, string channel) => ShardKey(gateway.GatewayId, Shard(gateway, channel));

    /// <summary>The shard of <paramref name="gateway"/>'s delivery streams that carries <paramref name="channel"/>.</summary>
    public static uint Shard(GatewayRoute gateway, string channel) => ChannelNames.Hash(channel) % (uint)Math.Max(gateway.Shards, 1);

    public static string ShardKey(string gatewayId, uint shard) => $"{gatewayId}/{shard}";
}
