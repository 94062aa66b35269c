namespace LongLived.Contracts.Grains;

/// <summary>What the client grain holds, for tests and operators.</summary>
[GenerateSerializer, Immutable, Alias("ll.ClientSnapshot")]
public sealed record ClientSnapshot(
    string ClientId,
    Guid? SessionId,
    string? GatewayId,
    IReadOnlyList<string> Topics,
    IReadOnlyDictionary<string, ChannelPosition> Acknowledged,
    long Notifications,
    int Sessions,
    DateTimeOffset? ConnectedAt);
