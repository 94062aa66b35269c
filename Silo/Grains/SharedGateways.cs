using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// One instance per gateway of what every client and channel joined to it keeps: its route, id and observer
/// reference. Each call brings its own deserialized copies, which a client would otherwise keep for as long as it stays
/// connected (memory per client).
/// </summary>
public sealed class SharedGateways
{
    private const int Max = 1024;
    private readonly BoundedMap<GatewayRoute, GatewayRoute> _routes = new(Max);
    private readonly BoundedMap<string, (string Id, IGatewayObserver Observer)> _observers = new(Max, StringComparer.Ordinal);

    public GatewayRoute Route(GatewayRoute route) => _routes.GetOrAdd(route, r => r);

    /// <summary>The session with its gateway's shared id and observer reference.</summary>
    public SessionInfo Session(SessionInfo session)
    {
        if (!_observers.TryGetValue(session.GatewayId, out var shared) || !shared.Observer.Equals(session.Gateway))
        {
            _observers.Set(session.GatewayId, shared = (session.GatewayId, session.Gateway));
        }
        return ReferenceEquals(shared.Observer, session.Gateway) ? session : session with { GatewayId = shared.Id, Gateway = shared.Observer };
    }
}
