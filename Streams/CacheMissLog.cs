using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace LongLived.Streams;

/// <summary>Counts and reports batches pushed out of a queue's cache before a consumer took them (<see cref="EventQueueCache"/>).</summary>
internal sealed class CacheMissLog(ILogger logger, string provider, string queue, int capacity, IStreamMissListener? listener)
{
    private readonly ThrottledLog _throttle = new(TimeSpan.FromSeconds(10));

    public void Missed(StreamId stream)
    {
        StreamMetrics.Missed();
        listener?.Missed(provider, stream);
        if (!_throttle.ShouldLog(out var more)) return;
        logger.LogWarning("Stream queue {Queue}: a batch of {Stream} left the cache (full at {Capacity} batches) before its consumer took it, and {More} more of any stream since the last report: a gateway lags or is gone; it is told to fill what it missed from history",
            queue, stream, capacity, more);
    }
}
