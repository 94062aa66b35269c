using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>Every live gateway, by lease (see <see cref="IGatewayDirectory"/>). Not stored: gateways renew well within a lease.</summary>
public sealed class GatewayDirectoryGrain(TimeProvider time) : Grain, IGatewayDirectory
{
    private readonly Dictionary<string, (IGatewayObserver Gateway, DateTimeOffset Expires)> _gateways = new(StringComparer.Ordinal);

    public Task Register(string gatewayId, IGatewayObserver gateway, TimeSpan lease)
    {
        _gateways[gatewayId] = (gateway, time.GetUtcNow() + lease);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<IGatewayObserver>> Live()
    {
        var now = time.GetUtcNow();
        foreach (var expired in _gateways.Where(g => g.Value.Expires < now).Select(g => g.Key).ToArray()) _gateways.Remove(expired);
        return Task.FromResult<IReadOnlyList<IGatewayObserver>>([.. _gateways.Values.Select(g => g.Gateway)]);
    }
}
