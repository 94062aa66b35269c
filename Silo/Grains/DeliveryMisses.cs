using System.Collections.Concurrent;
using LongLived.Contracts.Grains;
using LongLived.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// A gateway's delivery stream lost batches in this silo's stream cache (the gateway lagged): the gateway is told
/// (<see cref="IGatewayObserver.DeliveryMissed"/>) and checks the channels that stream carries. A lost batch may have
/// been a channel's last for a while, and then no later one shows the hole. At most once a second per stream.
/// </summary>
public sealed class DeliveryMisses(GatewayNotices notices) : IStreamMissListener
{
    private const long EveryMs = 1000;
    private readonly ConcurrentDictionary<StreamId, long> _toldAt = new();

    public void Missed(string provider, StreamId stream)
    {
        if (provider != DeliveryStreams.Provider || stream.GetNamespace() != DeliveryStreams.GatewayNamespace) return;
        var now = Environment.TickCount64;
        if (_toldAt.TryGetValue(stream, out var at) && now - at < EveryMs) return;
        if (_toldAt.Count >= 4096) _toldAt.Clear(); // gateways that came and went
        _toldAt[stream] = now;
        // "<gateway id>/<shard>": the id has slashes of its own.
        var key = stream.GetKeyAsString();
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || !uint.TryParse(key.AsSpan(slash + 1), out var shard)) return;
        _ = notices.TellMissedAsync(key[..slash], shard);
    }
}
