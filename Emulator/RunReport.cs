using System.Text.Json;
using System.Text.Json.Serialization;

namespace LongLived.Emulator;

/// <summary>The --report JSON: totals, percentiles and what each client saw.</summary>
public sealed record RunReport(
    int Clients,
    double DurationSeconds,
    long Received,
    long Gaps,
    long Duplicates,
    long Reconnects,
    int ResumedClients,
    long Unrecoverable,
    int ReplacedClients,
    int RefusedClients,
    long NotifyFailures,
    IReadOnlyDictionary<string, long> NotifyFailureKinds,
    long Published,
    long PublishFailures,
    Percentiles LatencyMs,
    Percentiles ResumeMs,
    Percentiles ReattachMs,
    IReadOnlyList<ClientReport> PerClient)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static RunReport From(IReadOnlyList<ClientStats> clients, RunMetrics metrics, TimeSpan elapsed) => new(
        clients.Count,
        Math.Round(elapsed.TotalSeconds, 1),
        clients.Sum(c => Interlocked.Read(ref c.Received)),
        clients.Sum(c => Interlocked.Read(ref c.Gaps)),
        clients.Sum(c => Interlocked.Read(ref c.Duplicates)),
        clients.Sum(c => Interlocked.Read(ref c.Reconnects)),
        clients.Count(c => Interlocked.Read(ref c.Resumes) > 0),
        clients.Sum(c => Interlocked.Read(ref c.Unrecoverable)),
        clients.Count(c => c.Replaced),
        clients.Count(c => c.Refused),
        clients.Sum(c => Interlocked.Read(ref c.NotifyFailures)),
        new SortedDictionary<string, long>(metrics.NotifyFailureKinds),
        Interlocked.Read(ref metrics.Published),
        Interlocked.Read(ref metrics.PublishFailures),
        Percentiles.Of(metrics.Latency),
        Percentiles.Of(metrics.ResumeLatency),
        Percentiles.Of(metrics.ReattachLatency),
        [.. clients.Select(c => new ClientReport(c.ClientId, c.Received, c.Gaps, c.Duplicates, c.Reconnects, c.Resumes, c.Unrecoverable,
            Interlocked.Read(ref c.LastReceivedUnixMs)))]);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>One plain line with what matters after a failover.</summary>
    public string Describe() =>
        $"clients {Clients} received {Received} gaps {Gaps} duplicates {Duplicates} reconnects {Reconnects} " +
        $"resumed clients {ResumedClients} unrecoverable {Unrecoverable} refused clients {RefusedClients} resume p50 {ResumeMs.P50} ms p99 {ResumeMs.P99} ms, " +
        $"reattach p50 {ReattachMs.P50} ms p99 {ReattachMs.P99} ms, latency p50 {LatencyMs.P50} ms p99 {LatencyMs.P99} ms";
}

public sealed record Percentiles(long Count, double P50, double P90, double P99, double Max)
{
    public static Percentiles Of(LatencyHistogram h) =>
        new(h.Count, Math.Round(h.PercentileMs(50), 2), Math.Round(h.PercentileMs(90), 2), Math.Round(h.PercentileMs(99), 2), Math.Round(h.MaxMs, 2));
}

public sealed record ClientReport(string Id, long Received, long Gaps, long Duplicates, long Reconnects, long Resumes, long Unrecoverable,
    long LastReceivedUnixMs);
