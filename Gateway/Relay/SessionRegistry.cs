using System.Collections.Concurrent;
using Grpc.Core;
using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Relay;

/// <summary>
/// The live sessions of this gateway, and the observer through which client grains end them
/// (a newer Subscribe elsewhere, or Unsubscribe) and channel grains say they restarted.
/// </summary>
public sealed class SessionRegistry : IGatewayObserver
{
    private readonly ConcurrentDictionary<Guid, SubscriberSession> _sessions = new();
    private readonly Lazy<IGatewayObserver> _reference;
    private readonly ILogger<SessionRegistry> _logger;

    public SessionRegistry(IClusterClient cluster, ILogger<SessionRegistry> logger)
    {
        _logger = logger;
        // Created on first use (the client is connected by then) and held here: Orleans holds observers weakly.
        _reference = new(() => cluster.CreateObjectReference<IGatewayObserver>(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>This gateway's identity in the cluster (unique per process).</summary>
    public string GatewayId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>The reference client grains call back on.</summary>
    public IGatewayObserver Reference => _reference.Value;

    public int Count => _sessions.Count;

    public IEnumerable<SubscriberSession> Sessions => _sessions.Values;

    public void Add(SubscriberSession session) => _sessions[session.SessionId] = session;

    public void Remove(SubscriberSession session) => _sessions.TryRemove(session.SessionId, out _);

    /// <summary>Raised when a channel grain says it started a new activation (the hub joins it again if it has subscribers here).</summary>
    public event Action<string>? Restarted;

    public Task ChannelRestarted(string channel)
    {
        Restarted?.Invoke(channel);
        return Task.CompletedTask;
    }

    public Task EndSession(string clientId, Guid sessionId, SessionEndReason reason)
    {
        if (!_sessions.TryGetValue(sessionId, out var session)) return Task.CompletedTask;
        _logger.LogInformation("Ending stream of client ID {ClientId}: {Reason}", clientId, reason);
        session.End(reason switch
        {
            SessionEndReason.Unsubscribed => Status.DefaultSuccess,
            _ => SubscriberSession.Replaced,
        });
        return Task.CompletedTask;
    }
}
