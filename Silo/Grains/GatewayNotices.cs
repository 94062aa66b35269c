using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// One-way notices to every live gateway: a channel started a new activation or failed to send
/// (<see cref="IGatewayObserver.ChannelRestarted"/>), a delivery stream lost batches (<see cref="IGatewayObserver.DeliveryMissed"/>).
/// The gateway list is read from the directory at most every few seconds per silo, so that thousands of activations
/// at once (a failover) cost one directory call, not one each.
/// </summary>
public sealed class GatewayNotices(IGrainFactory grains, TimeProvider time, ILogger<GatewayNotices> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly object _gate = new();
    private Task<IReadOnlyList<IGatewayObserver>>? _gateways;
    private DateTimeOffset _readAt;

    public async Task TellRestartedAsync(string channel)
    {
        try
        {
            foreach (var gateway in await GatewaysAsync()) _ = gateway.ChannelRestarted(channel); // one-way
        }
        catch (Exception ex)
        {
            // The gateways' sweep checks it anyway, later.
            logger.LogDebug(ex, "Telling the gateways that channel {Channel} restarted failed", channel);
        }
    }

    public async Task TellMissedAsync(string gatewayId, uint shard)
    {
        try
        {
            foreach (var gateway in await GatewaysAsync()) _ = gateway.DeliveryMissed(gatewayId, shard); // one-way; the others ignore it
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Telling gateway {Gateway} that its delivery stream {Shard} lost batches failed", gatewayId, shard);
        }
    }

    private Task<IReadOnlyList<IGatewayObserver>> GatewaysAsync()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_gateways is null || _gateways.IsFaulted || now - _readAt > CacheFor)
            {
                _gateways = grains.GetGrain<IGatewayDirectory>(0).Live();
                _readAt = now;
            }
            return _gateways;
        }
    }
}
