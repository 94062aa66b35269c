using Orleans.Concurrency;

namespace LongLived.Contracts.Grains;

/// <summary>Why a client grain ends a live session on a gateway.</summary>
public enum SessionEndReason
{
    /// <summary>A newer Subscribe for the same client id won.</summary>
    Replaced,
    /// <summary>The client called Unsubscribe.</summary>
    Unsubscribed,
}

/// <summary>Implemented by each gateway; lets a client grain end a session wherever it lives.</summary>
[Alias("ll.IGatewayObserver")]
public interface IGatewayObserver : IGrainObserver
{
    [OneWay, Alias("EndSession")]
    Task EndSession(string clientId, Guid sessionId, SessionEndReason reason);
}
