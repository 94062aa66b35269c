namespace LongLived.Contracts.Grains;

/// <summary>
/// A live Subscribe call, as the client grain knows it. <paramref name="Waited"/>: how long the call had been at its
/// gateway when Connect was sent, on the gateway's monotonic clock (a duration, so gateway clocks need not agree).
/// <paramref name="Attempt"/>: the client's own numbering of its Subscribe calls, if it sent one.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.SessionInfo")]
public sealed record SessionInfo(Guid SessionId, string GatewayId, IGatewayObserver Gateway, IReadOnlyList<string> Topics, TimeSpan Waited, ClientAttempt? Attempt = null);

/// <summary>
/// Which Subscribe call of one client object this is (Request.client_instance, Request.attempt): between calls of the
/// same instance, the higher attempt is the newer, whatever order they reach the cluster in.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.ClientAttempt")]
public sealed record ClientAttempt(string Instance, ulong Number)
{
    /// <summary>True when both are calls of the same client instance and this one was made before <paramref name="other"/>.</summary>
    public bool IsOlderThan(ClientAttempt? other) => other is not null && other.Instance == Instance && Number < other.Number;
}

/// <summary>
/// The client grain's answer to Connect. <paramref name="Fence"/> grows with every accepted session of the client id (a
/// session whose fence is below the client channel's <see cref="ChannelHead.Owner"/> has been replaced and must end).
/// Not <paramref name="Accepted"/>: a newer Subscribe of this id is already live (this call was delayed or abandoned).
/// <paramref name="ResumeFrom"/>: the client's acknowledged position in its own channel, for a Subscribe without one.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.SessionGrant")]
public sealed record SessionGrant(bool Accepted, long Fence, ChannelPosition? ResumeFrom);

/// <summary>The fence of a client's newest session, and whether it was an Unsubscribe (see <see cref="ChannelHead.Owner"/>).</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelOwner")]
public sealed record ChannelOwner(long Fence, bool Left);

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

/// <summary>Per client id: subscription state. At most one live session; the newest Connect wins.</summary>
[Alias("ll.IClientGrain")]
public interface IClientGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers a new live session with a new fence, and ends the previous one (<see cref="SessionEndReason.Replaced"/>)
    /// unless that one reached its gateway later (both placed on this grain's clock by their <see cref="SessionInfo.Waited"/>),
    /// in which case this one is refused.
    /// </summary>
    [Alias("Connect")]
    Task<SessionGrant> Connect(SessionInfo session);

    /// <summary>Where the session started in the client's own channel: acknowledgements without positions (the original
    /// contract's NotifyReceived, one per message) count on from it.</summary>
    [Alias("Started")]
    Task Started(Guid sessionId, ChannelPosition ownChannel);

    /// <summary>Forgets the session if it is still the current one.</summary>
    [Alias("Disconnect")]
    Task Disconnect(Guid sessionId);

    /// <summary>Ends the live session, wherever it is. False if there was none.</summary>
    [Alias("Unsubscribe")]
    Task<bool> Unsubscribe();

    /// <summary>
    /// Records a NotifyReceived: the newest acknowledged position per channel, for channels of the client's subscription
    /// only (others: <see cref="ArgumentException"/>). No positions: one more message of the own channel received.
    /// Stored within a second, batched.
    /// </summary>
    [Alias("Acknowledge")]
    Task Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions);

    [Alias("GetSnapshot")]
    Task<ClientSnapshot> GetSnapshot();

    /// <summary>The fence of the newest session or Unsubscribe (0: none yet). Interleaves: a channel activating during a Connect asks for it.</summary>
    [Alias("GetOwner"), Orleans.Concurrency.AlwaysInterleave]
    Task<ChannelOwner> GetOwner();
}
