namespace LongLived.Contracts.Grains;

/// <summary>
/// Where a channel grain sends a gateway's messages: its id, how many delivery streams it listens on, and whether it
/// listens on its observer instead (<c>Orleans:Delivery=observer</c>). The gateway says how it listens and every silo
/// follows, so the two sides cannot disagree; a gateway of an earlier version names no way and gets streams.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.GatewayRoute")]
public sealed record GatewayRoute(string GatewayId, int Shards)
{
    [Id(0)] public bool ByObserver { get; init; }
}
