using System.Collections.Concurrent;
using LongLived.Contracts.Grains;
using LongLived.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// A gateway's delivery stream lost batches in this silo's stream cache (the gateway lagged): the gateway is told
/// (<see cref="IGatewayObserver.DeliveryMissed"/>) and checks the channels that stream carries. A lost batch may have
/// been a channel's last for a while, and then no later one shows the hole. At most once a second per stream; misses
/// inside that second are told a second later (the gateway may have checked before the last of them).
/// </summary>
public sealed class DeliveryMisses(GatewayNotices notices) : IStreamMissListener
{
    private const long EveryMs = 1000;
    private readonly BoundedMap<StreamId, long> _toldAt = new(4096); // gateways come and go
    private readonly ConcurrentDictionary<StreamId, bool> _waiting = new(); // a notice due at the end of the second

    public void Missed(string provider, StreamId stream)
    {
        if (provider != DeliveryStreams.Provider || stream.GetNamespace() != DeliveryStreams.GatewayNamespace) return;
        var now = Environment.TickCount64;
        if (_toldAt.TryGetValue(stream, out var at) && now - at < EveryMs)
        {
            if (_waiting.TryAdd(stream, true)) _ = TellAsync(stream, TimeSpan.FromMilliseconds(EveryMs - (now - at)));
            return;
        }
        _ = TellAsync(stream, TimeSpan.Zero);
    }

    private async Task TellAsync(StreamId stream, TimeSpan after)
    {
        if (after > TimeSpan.Zero)
        {
            await Task.Delay(after).ConfigureAwait(false);
            _waiting.TryRemove(stream, out _);
        }
        _toldAt.Set(stream, Environment.TickCount64);
        // "<gateway id>/<shard>": the id has slashes of its own.
        var key = stream.GetKeyAsString();
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || !uint.TryParse(key.AsSpan(slash + 1), out var shard)) return;
        await notices.TellMissedAsync(key[..slash], shard);
    }
}
