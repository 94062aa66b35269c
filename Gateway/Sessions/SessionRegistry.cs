using System.Collections.Concurrent;
using Grpc.Core;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Cluster;

namespace LongLived.Gateway.Sessions;

/// <summary>The live sessions of this gateway; ends the one a client grain says was replaced or unsubscribed.</summary>
public sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<Guid, SubscriberSession> _sessions = new();
    private readonly ILogger<SessionRegistry> _logger;

    public SessionRegistry(GatewayObserver observer, ILogger<SessionRegistry> logger)
    {
        _logger = logger;
        observer.SessionEnded += End;
    }

    public int Count => _sessions.Count;

    public IEnumerable<SubscriberSession> Sessions => _sessions.Values;

    public void Add(SubscriberSession session) => _sessions[session.SessionId] = session;

    public void Remove(SubscriberSession session) => _sessions.TryRemove(session.SessionId, out _);

    private void End(string clientId, Guid sessionId, SessionEndReason reason)
    {
        if (!_sessions.TryGetValue(sessionId, out var session)) return;
        _logger.LogInformation("Ending stream of client ID {ClientId}: {Reason}", clientId, reason);
        session.End(reason switch
        {
            SessionEndReason.Unsubscribed => Status.DefaultSuccess,
            _ => SubscriberSession.Replaced,
        });
    }
}
