namespace LongLived.Contracts.Grains;

/// <summary>Where a channel grain sends a gateway's messages: its id and how many delivery streams it listens on.</summary>
[GenerateSerializer, Immutable, Alias("ll.GatewayRoute")]
public sealed record GatewayRoute(string GatewayId, int Shards);
