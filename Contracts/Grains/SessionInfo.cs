namespace LongLived.Contracts.Grains;

/// <summary>
/// A live Subscribe call, as the client grain knows it. <paramref name="Waited"/>: how long the call had been at its
/// gateway when Connect was sent, on the gateway's monotonic clock (a duration, so gateway clocks need not agree).
/// <paramref name="Attempt"/>: the client's own count of its Subscribe calls, if it sent one.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.SessionInfo")]
public sealed record SessionInfo(Guid SessionId, string GatewayId, IGatewayObserver Gateway, IReadOnlyList<string> Topics, TimeSpan Waited, ClientAttempt? Attempt = null);
