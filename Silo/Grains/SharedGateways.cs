using System.Collections.Concurrent;
using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// One instance per gateway of what every client and channel joined to it keeps: its route, id and observer
/// reference. Each call brings its own deserialized copies, which a client would otherwise keep for as long as it stays
/// connected (memory per client). Bounded: emptied when gateways that came and went filled it.
/// </summary>
public sealed class SharedGateways
{
    private const int Max = 1024;
    private readonly ConcurrentDictionary<GatewayRoute, GatewayRoute> _routes = new();
    private readonly ConcurrentDictionary<string, (string Id, IGatewayObserver Observer)> _observers = new(StringComparer.Ordinal);

    public GatewayRoute Route(GatewayRoute route)
    {
        if (_routes.TryGetValue(route, out var shared)) return shared;
        if (_routes.Count >= Max) _routes.Clear();
        return _routes.GetOrAdd(route, route);
    }

    /// <summary>The session with its gateway's shared id and observer reference.</summary>
    public SessionInfo Session(SessionInfo session)
    {
        if (!_observers.TryGetValue(session.GatewayId, out var shared) || !shared.Observer.Equals(session.Gateway))
        {
            if (_observers.Count >= Max) _observers.Clear();
            _observers[session.GatewayId] = shared = (session.GatewayId, session.Gateway);
        }
        return ReferenceEquals(shared.Observer, session.Gateway) ? session : session with { GatewayId = shared.Id, Gateway = shared.Observer };
    }
}
