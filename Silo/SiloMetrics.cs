using System.Diagnostics.Metrics;

namespace LongLived.Silo;

/// <summary>The silo's own meter ("LongLived.Silo"), next to Orleans' "Microsoft.Orleans" on /metrics.</summary>
public sealed class SiloMetrics
{
    public const string MeterName = "LongLived.Silo";

    private readonly Counter<long> _appended;
    private readonly UpDownCounter<long> _channels;
    private readonly UpDownCounter<long> _generators;
    private readonly Counter<long> _storageFailures;

    public SiloMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _appended = meter.CreateCounter<long>("longlived.silo.messages.appended", description: "Messages numbered and stored, by kind (generated or published)");
        _channels = meter.CreateUpDownCounter<long>("longlived.silo.channels.active", description: "Channel grains active on this silo");
        _generators = meter.CreateUpDownCounter<long>("longlived.silo.generators.running", description: "Mock-data generators running on this silo");
        _storageFailures = meter.CreateCounter<long>("longlived.silo.storage.failures", description: "Channel log writes that failed (Redis unreachable or refusing): the publisher got UNAVAILABLE");
        // At 0 from the start, so an alert's rate sees the first failure.
        _storageFailures.Add(0);
        foreach (var kind in new[] { "generated", "published" }) _appended.Add(0, new KeyValuePair<string, object?>("kind", kind));
    }

    public void Appended(bool generated) => _appended.Add(1, new KeyValuePair<string, object?>("kind", generated ? "generated" : "published"));
    public void ChannelActivated() => _channels.Add(1);
    public void ChannelDeactivated() => _channels.Add(-1);
    public void GeneratorStarted() => _generators.Add(1);
    public void GeneratorStopped() => _generators.Add(-1);
    public void StorageFailed() => _storageFailures.Add(1);
}
