using System.Diagnostics.Metrics;

namespace LongLived.Streams;

/// <summary>Meter "LongLived.Streams": what the event-driven queues do (reads that found data or waited out, refusals).</summary>
public static class StreamMetrics
{
    public const string MeterName = "LongLived.Streams";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Reads = Meter.CreateCounter<long>("longlived.streams.queue_reads", description: "Stream queue reads by the pulling agents, by result (events, or empty after waiting)");
    private static readonly Counter<long> Batches = Meter.CreateCounter<long>("longlived.streams.batches_read", description: "Stream event batches taken from the queues");

    internal static void Read(int batches)
    {
        Reads.Add(1, new KeyValuePair<string, object?>("result", batches > 0 ? "events" : "empty"));
        if (batches > 0) Batches.Add(batches);
    }
}
