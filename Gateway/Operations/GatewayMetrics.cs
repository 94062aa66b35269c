using System.Diagnostics.Metrics;
using Grpc.Core;
using LongLived.Gateway.Cluster;

namespace LongLived.Gateway.Operations;

/// <summary>The gateway's own meter ("LongLived.Gateway"), scraped as Prometheus text on the admin port's /metrics.</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "LongLived.Gateway";

    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _started;
    private readonly Counter<long> _ended;
    // Per message: plain counts read by an observable counter when /metrics is scraped (a Counter's Add with a tag
    // costs an aggregator lookup per message).
    private long _relayedLive, _relayedHistory;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _resumes;
    private readonly Counter<long> _overflows;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _headChecks;
    private readonly Counter<long> _rejected;

    public GatewayMetrics(IMeterFactory meters, ClusterConnection connection)
    {
        var meter = meters.Create(MeterName);
        _active = meter.CreateUpDownCounter<long>("longlived.gateway.streams.active", description: "Subscribe streams open now");
        _started = meter.CreateCounter<long>("longlived.gateway.streams.started", description: "Subscribe streams started");
        _ended = meter.CreateCounter<long>("longlived.gateway.streams.ended", description: "Subscribe streams ended, by gRPC status");
        meter.CreateObservableCounter("longlived.gateway.messages.relayed", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _relayedLive), new KeyValuePair<string, object?>("source", "live")),
            new Measurement<long>(Interlocked.Read(ref _relayedHistory), new KeyValuePair<string, object?>("source", "history")),
        }, description: "Messages written to clients, by source (live or history)");
        _duplicates = meter.CreateCounter<long>("longlived.gateway.messages.duplicates_dropped", description: "Live messages dropped because the client already had them");
        _resumes = meter.CreateCounter<long>("longlived.gateway.resumes", description: "Channel positions resumed, by outcome (recovered or unrecoverable)");
        _overflows = meter.CreateCounter<long>("longlived.gateway.buffer.overflows", description: "Streams ended because their client was too slow");
        _headChecks = meter.CreateCounter<long>("longlived.gateway.head_checks", description: "Channel heads read to find lost stream events, by reason (traffic, delivery-error, sweep, cluster-change, restart)");
        _rejected = meter.CreateCounter<long>("longlived.gateway.calls.rejected", description: "Calls refused by a limit or by authentication/authorization, by reason");
        _latency = meter.CreateHistogram<double>("longlived.gateway.relay.latency", unit: "ms", description: "From the channel grain's append to the write to the client, live messages");
        meter.CreateObservableGauge("longlived.gateway.cluster.connected", () => connection.IsConnected ? 1 : 0,
            description: "1 while the gateway's Orleans client is connected to at least one silo");
        // Series an alert watches exist from the start at 0: a rate over the first increment is then not missed.
        _overflows.Add(0);
        _duplicates.Add(0);
        foreach (var outcome in new[] { "recovered", "unrecoverable" }) _resumes.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        _ended.Add(0, new KeyValuePair<string, object?>("status", StatusCode.OK.ToString()));
        _rejected.Add(0, new KeyValuePair<string, object?>("reason", "none"));
    }

    public void StreamStarted()
    {
        _active.Add(1);
        _started.Add(1);
    }

    public void StreamEnded(StatusCode status)
    {
        _active.Add(-1);
        _ended.Add(1, new KeyValuePair<string, object?>("status", status.ToString()));
        if (status == StatusCode.ResourceExhausted) _overflows.Add(1);
    }

    public void Relayed(bool live, long publishedUnixMs)
    {
        Interlocked.Increment(ref live ? ref _relayedLive : ref _relayedHistory);
        if (live) _latency.Record(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - publishedUnixMs));
    }

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void DuplicateDropped() => _duplicates.Add(1);

    public void HeadChecked(string reason) => _headChecks.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Resumed(bool recovered) => _resumes.Add(1, new KeyValuePair<string, object?>("outcome", recovered ? "recovered" : "unrecoverable"));
}
