using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// Tells every live gateway that a channel started a new activation (<see cref="IGatewayObserver.ChannelRestarted"/>).
/// The gateway list is read from the directory at most every few seconds per silo, so that thousands of activations
/// at once (a failover) cost one directory call, not one each.
/// </summary>
public sealed class ChannelRestarts(IGrainFactory grains, TimeProvider time, ILogger<ChannelRestarts> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly object _gate = new();
    private Task<IReadOnlyList<IGatewayObserver>>? _gateways;
    private DateTimeOffset _readAt;

    public async Task TellAsync(string channel)
    {
        try
        {
            foreach (var gateway in await GatewaysAsync()) _ = gateway.ChannelRestarted(channel); // one-way
        }
        catch (Exception ex)
        {
            // The gateways' sweep rejoins anyway, later.
            logger.LogDebug(ex, "Telling the gateways that channel {Channel} restarted failed", channel);
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
