namespace LongLived.Contracts.Grains;

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
