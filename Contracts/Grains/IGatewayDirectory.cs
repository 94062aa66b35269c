namespace LongLived.Contracts.Grains;

/// <summary>
/// Every live gateway (one grain, key 0). Joins live in channel activations only, so a channel grain that starts a new
/// activation (after a failed storage write, a silo loss, or collection) tells every gateway, and those with local
/// subscribers of the channel join again at once instead of at their next sweep.
/// </summary>
[Alias("ll.IGatewayDirectory")]
public interface IGatewayDirectory : IGrainWithIntegerKey
{
    /// <summary>Registers or renews <paramref name="gatewayId"/> for <paramref name="lease"/>.</summary>
    [Alias("Register")]
    Task Register(string gatewayId, IGatewayObserver gateway, TimeSpan lease);

    /// <summary>The gateways whose lease runs.</summary>
    [Alias("Live")]
    Task<IReadOnlyList<IGatewayObserver>> Live();
}
