using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// One-way notices to live gateways: a channel started a new activation (to all of them) or failed to send to some
/// (to those: <see cref="IGatewayObserver.ChannelRestarted"/>), a delivery stream lost batches (to its gateway:
/// <see cref="IGatewayObserver.DeliveryMissed"/>). The gateway list is read from the directory at most every few seconds
/// per silo, so that thousands of activations at once (a failover) cost one directory call, not one each; a notice for a
/// gateway the list lacks reads it again (at most once a second), since that gateway may have registered since.
/// </summary>
public sealed class GatewayNotices(IGrainFactory grains, TimeProvider time, ILogger<GatewayNotices> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RereadAfter = TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private Task<Dictionary<string, IGatewayObserver>>? _gateways;
    private DateTimeOffset _readAt;

    public async Task TellRestartedAsync(string channel)
    {
        try
        {
            foreach (var gateway in (await GatewaysAsync()).Values) _ = gateway.ChannelRestarted(channel); // one-way
        }
        catch (Exception ex)
        {
            // The gateways' sweep checks it anyway, later.
            logger.LogDebug(ex, "Telling the gateways that channel {Channel} restarted failed", channel);
        }
    }

    /// <summary>
    /// Sends of <paramref name="channel"/> to <paramref name="gatewayIds"/> failed: those gateways (not every gateway: when
    /// one dies, each of its channels fails its sends until its clients move, and the others missed nothing) look at the
    /// head and fill what they lack from history. A gateway no longer in the directory is not told.
    /// </summary>
    public async Task TellSendFailedAsync(string channel, IReadOnlyCollection<string> gatewayIds)
    {
        try
        {
            var gateways = await GatewaysAsync(gatewayIds);
            foreach (var id in gatewayIds)
            {
                if (gateways.TryGetValue(id, out var gateway)) _ = gateway.ChannelRestarted(channel); // one-way
            }
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Telling gateways {Gateways} that sends of channel {Channel} failed did not work", string.Join(", ", gatewayIds), channel);
        }
    }

    public async Task TellMissedAsync(string gatewayId, uint shard)
    {
        try
        {
            if ((await GatewaysAsync([gatewayId])).TryGetValue(gatewayId, out var gateway)) _ = gateway.DeliveryMissed(gatewayId, shard); // one-way
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Telling gateway {Gateway} that its delivery stream {Shard} lost batches failed", gatewayId, shard);
        }
    }

    /// <summary>
    /// The live gateways, listing every one of <paramref name="wanted"/> that is live: a gateway registered after the
    /// list was read (it just started, and already a send to it failed) is not left untold until the list expires. The
    /// list is read again at most once a second, so a gone gateway asked about often costs that, not a call per notice.
    /// </summary>
    private async Task<Dictionary<string, IGatewayObserver>> GatewaysAsync(IReadOnlyCollection<string>? wanted = null)
    {
        var asked = time.GetUtcNow();
        var (read, readAt) = Cached(DateTimeOffset.MinValue);
        var gateways = await read;
        if (wanted is null || wanted.All(gateways.ContainsKey)) return gateways;
        var wait = readAt + RereadAfter - time.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, time);
        return await Cached(notBefore: asked).Read; // read since this notice was asked for, by it or by another
    }

    private (Task<Dictionary<string, IGatewayObserver>> Read, DateTimeOffset ReadAt) Cached(DateTimeOffset notBefore)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_gateways is null || _gateways.IsFaulted || now - _readAt > CacheFor || _readAt <= notBefore)
            {
                _gateways = grains.GetGrain<IGatewayDirectory>(0).Gateways();
                _readAt = now;
            }
            return (_gateways, _readAt);
        }
    }
}
