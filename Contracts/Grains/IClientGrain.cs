using Orleans.Concurrency;

namespace LongLived.Contracts.Grains;

/// <summary>
/// Per client id: subscription state, kept by the client's own channel grain (<see cref="ClientGrains.GetClientGrain"/>).
/// At most one live session; the newest Subscribe wins.
/// </summary>
[Alias("ll.IClientGrain")]
public interface IClientGrain : IGrainWithStringKey
{
    /// <summary>
    /// A whole Subscribe at the client's own channel, in one call. Registers a new live session with a new fence and
    /// ends the previous one (<see cref="SessionEndReason.Replaced"/>), unless that one reached its gateway later (both
    /// placed on this grain's clock by their <see cref="SessionInfo.Waited"/>), in which case this one is refused. Then,
    /// as <see cref="IChannelGrain.Join"/> with the new fence, joins <paramref name="gateway"/> to the own channel, and
    /// reads up to <paramref name="pageSize"/> messages after <paramref name="position"/>, or, without one, after the
    /// position the client last acknowledged (a client of the original contract sends none). Where that leaves the
    /// session is where acknowledgements without positions count from.
    /// </summary>
    [Alias("Subscribe")]
    Task<SubscribeGrant> Subscribe(SessionInfo session, GatewayRoute gateway, TimeSpan lease, long join, ChannelPosition? position, int pageSize);

    /// <summary>
    /// One-way, from the session's gateway before it sends the first message: from now on acknowledgements without
    /// positions count from where <see cref="Subscribe"/> started the session (before, they are late ones of the
    /// previous stream, and dropped).
    /// </summary>
    [OneWay, Alias("Started")]
    Task Started(Guid sessionId);

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
}
