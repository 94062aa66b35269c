using System.Diagnostics.Metrics;

namespace LongLived.Silo.Operations;

/// <summary>The silo's own meter ("LongLived.Silo"), next to Orleans' "Microsoft.Orleans" on /metrics.</summary>
public sealed class SiloMetrics
{
    public const string MeterName = "LongLived.Silo";

    // Per message: plain counts read by an observable counter when /metrics is scraped (a Counter's Add with a tag
    // costs an aggregator lookup per message, which showed in the silo's profile: docs/data-path.md).
    private long _generated, _published;
    private readonly UpDownCounter<long> _channels;
    private readonly UpDownCounter<long> _generators;
    private readonly Counter<long> _storageFailures;

    public SiloMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("longlived.silo.messages.appended", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _generated), new KeyValuePair<string, object?>("kind", "generated")),
            new Measurement<long>(Interlocked.Read(ref _published), new KeyValuePair<string, object?>("kind", "published")),
        }, description: "Messages numbered and stored, by kind (generated or published)");
        _channels = meter.CreateUpDownCounter<long>("longlived.silo.channels.active", description: "Channel grains active on this silo");
        _generators = meter.CreateUpDownCounter<long>("longlived.silo.generators.running", description: "Mock-data generators running on this silo");
        _storageFailures = meter.CreateCounter<long>("longlived.silo.storage.failures", description: "Channel log writes that failed (Redis unreachable or refusing): the publisher got UNAVAILABLE");
        // At 0 from the start, so an alert's rate sees the first failure.
        _storageFailures.Add(0);
    }

    public void Appended(bool generated) => Interlocked.Increment(ref generated ? ref _generated : ref _published);
    public void ChannelActivated() => _channels.Add(1);
    public void ChannelDeactivated() => _channels.Add(-1);
    public void GeneratorStarted() => _generators.Add(1);
    public void GeneratorStopped() => _generators.Add(-1);
    public void StorageFailed() => _storageFailures.Add(1);
}
