namespace LongLived.Contracts.Grains;

/// <summary>A live Subscribe call, as the client grain knows it.</summary>
[GenerateSerializer, Immutable, Alias("ll.SessionInfo")]
public sealed record SessionInfo(Guid SessionId, string GatewayId, IGatewayObserver Gateway, IReadOnlyList<string> Topics);

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
    /// <summary>Registers a new live session and ends the previous one (with <see cref="SessionEndReason.Replaced"/>).</summary>
    [Alias("Connect")]
    Task Connect(SessionInfo session);

    /// <summary>Forgets the session if it is still the current one.</summary>
    [Alias("Disconnect")]
    Task Disconnect(Guid sessionId);

    /// <summary>Ends the live session, wherever it is. False if there was none.</summary>
    [Alias("Unsubscribe")]
    Task<bool> Unsubscribe();

    /// <summary>Records a NotifyReceived: the newest acknowledged position per channel.</summary>
    [Alias("Acknowledge")]
    Task Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions);

    [Alias("GetSnapshot")]
    Task<ClientSnapshot> GetSnapshot();
}
