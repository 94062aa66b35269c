using System.Diagnostics;
using LongLived.Contracts;

namespace LongLived.Emulator;

/// <summary>One run: N clients and the topic publisher over one balanced channel, until the duration ends or Ctrl+C.</summary>
public sealed class EmulatorRun(EmulatorSettings settings, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Emulator");

    public RunMetrics Metrics { get; } = new();
    public IReadOnlyList<EmulatedClient> Clients { get; private set; } = [];

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var gateways = AddressParser.Parse(settings.Address);
        using var channel = GatewayChannel.Create(gateways, loggerFactory);
        var grpc = new Longlived.LonglivedClient(channel);
        _logger.LogInformation("Starting {Clients} clients against {Gateways}", settings.Clients, string.Join(", ", gateways.Select(g => $"{g.Host}:{g.Port}")));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Duration is { } duration) stop.CancelAfter(duration);

        Clients = [.. Enumerable.Range(1, settings.Clients).Select(i => new EmulatedClient($"{settings.IdPrefix}{i}", grpc, settings, Metrics, _logger))];
        var stats = Clients.Select(c => c.Stats).ToArray();
        var clock = Stopwatch.StartNew();
        var tasks = Clients.Select((c, i) => StartAsync(c, settings.RampUp * i / Clients.Count, stop.Token)).ToList();
        tasks.Add(new TopicPublisher(grpc, settings, Metrics, _logger).RunAsync(stop.Token));
        var summary = Summary.RunAsync(settings.SummaryInterval, () => RunReport.From(stats, Metrics, clock.Elapsed), stop.Token);

        await Task.WhenAll(tasks);
        await summary;
        return RunReport.From(stats, Metrics, clock.Elapsed);
    }

    private static async Task StartAsync(EmulatedClient client, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        await client.RunAsync(cancellationToken);
    }
}
