using System.Diagnostics.Metrics;

namespace LongLived.Streams;

/// <summary>
/// Meter "LongLived.Streams": what the event-driven queues' writers and readers do (calls to the queues and the events
/// they carried, reads that found data or waited out, batches taken, batches a consumer missed). Observable counters over process-wide totals, so both series exist from the start (at 0): an idle queue's
/// first read only returns after its wait.
/// </summary>
public static class StreamMetrics
{
    public const string MeterName = "LongLived.Streams";
    private static readonly Meter Meter = new(MeterName);
    private static long _readsWithEvents, _emptyReads, _batches, _missed, _sends, _eventsSent;

    static StreamMetrics()
    {
        Meter.CreateObservableCounter("longlived.streams.queue_reads", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _readsWithEvents), new KeyValuePair<string, object?>("result", "events")),
            new Measurement<long>(Interlocked.Read(ref _emptyReads), new KeyValuePair<string, object?>("result", "empty")),
        }, description: "Stream queue reads by the pulling agents, by result (events, or empty after waiting)");
        Meter.CreateObservableCounter("longlived.streams.queue_sends", () => Interlocked.Read(ref _sends),
            description: "Calls this process made to the stream queues: events that were produced together share one (see events_sent)");
        Meter.CreateObservableCounter("longlived.streams.events_sent", () => Interlocked.Read(ref _eventsSent), description: "Events this process sent to the stream queues");
        Meter.CreateObservableCounter("longlived.streams.batches_read", () => Interlocked.Read(ref _batches), description: "Stream event batches taken from the queues");
        Meter.CreateObservableCounter("longlived.streams.cache_missed", () => Interlocked.Read(ref _missed),
            description: "Batches that left a pulling agent's cache before a consumer took them (a gateway lagging or gone): that gateway fills them from history");
    }

    /// <summary>Creates the instruments now (the static constructor), so they are exported before the first read returns.</summary>
    internal static void Start() { }

    internal static void Missed() => Interlocked.Increment(ref _missed);

    /// <summary>Batches that left a cache before a consumer took them, in this process so far.</summary>
    public static long CacheMissed => Interlocked.Read(ref _missed);

    internal static void Sent(int events)
    {
        Interlocked.Increment(ref _sends);
        Interlocked.Add(ref _eventsSent, events);
    }

    internal static void Read(int batches)
    {
        if (batches == 0)
        {
            Interlocked.Increment(ref _emptyReads);
            return;
        }
        Interlocked.Increment(ref _readsWithEvents);
        Interlocked.Add(ref _batches, batches);
    }
}
