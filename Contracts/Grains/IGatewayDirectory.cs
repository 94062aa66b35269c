namespace LongLived.Contracts.Grains;

/// <summary>
/// Every live gateway (one grain, key 0). Joins live in channel activations only, so a channel grain that starts a new
/// activation (after a failed storage write, a silo loss, or collection) tells every gateway, and those with local
/// subscribers of the channel join again at once instead of at their next sweep. Stored: a silo that dies does not take
/// the list with it.
/// </summary>
[Alias("ll.IGatewayDirectory")]
public interface IGatewayDirectory : IGrainWithIntegerKey
{
    /// <summary>
    /// Registers or renews the gateway of <paramref name="route"/> for <paramref name="lease"/>. A gateway whose lease
    /// runs out (it died) is forgotten, and so are its delivery streams' subscriptions. False: the gateway was not
    /// registered (new, or forgotten after it could not renew: it must check its subscriptions).
    /// </summary>
    [Alias("Register")]
    Task<bool> Register(GatewayRoute route, IGatewayObserver gateway, TimeSpan lease);

    /// <summary>The gateways whose lease runs (asked by silos of stop 35 and before, during a rolling update).</summary>
    [Alias("Live")]
    Task<IReadOnlyList<IGatewayObserver>> Live();

    /// <summary>The gateways whose lease runs, by id: a silo tells all of them, or only those a notice is for.</summary>
    [Alias("Gateways")]
    Task<Dictionary<string, IGatewayObserver>> Gateways();

    /// <summary>The ids of the gateways whose lease runs: each silo reads them to keep joins of live gateways (see <c>LiveGateways</c>).</summary>
    [Alias("LiveIds")]
    Task<IReadOnlyList<string>> LiveIds();

    /// <summary>The observer of gateway <paramref name="gatewayId"/> if its lease runs, else null: where a silo delivers to it with <c>Orleans:Delivery=observer</c>.</summary>
    [Alias("Observer")]
    Task<IGatewayObserver?> Observer(string gatewayId);
}
