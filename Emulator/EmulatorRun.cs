using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Channelz;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;

namespace LongLived.Emulator;

/// <summary>
/// One run: clients and the topic publisher over one balanced channel, until the duration ends or Ctrl+C.
/// Clients can be started and stopped while it runs (the REST control API); the report covers every client that ran.
/// </summary>
public sealed class EmulatorRun(EmulatorSettings settings, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Emulator");
    private readonly ConcurrentDictionary<string, RunningClient> _running = new();
    private readonly List<ClientStats> _everyClient = [];
    private readonly Stopwatch _clock = new();
    private readonly Tokens _tokens = new(settings);
    private Longlived.LonglivedClient? _grpc;
    private int _addresses; // gateway addresses the channel balances over
    private CancellationToken _runToken;
    private int _lastIndex;

    public RunMetrics Metrics { get; } = new();

    /// <summary>This process's channelz entities (its gateway channel and subchannels); null when GRPC_CHANNELZ is off.</summary>
    public ChannelzRegistry? Channelz { get; } = settings.Channelz ? new ChannelzRegistry() : null;

    /// <summary>Clients running now.</summary>
    public IReadOnlyList<EmulatedClient> Clients => [.. _running.Values.Select(r => r.Client).OrderBy(c => c.Index)];

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var gateways = AddressParser.Parse(settings.Address);
        _addresses = gateways.Count;
        using var channel = GatewayChannel.Create(settings, gateways, loggerFactory, Channelz);
        _grpc = new Longlived.LonglivedClient(channel);
        _logger.LogInformation("Starting {Clients} clients against {Gateways}", settings.Clients, string.Join(", ", gateways.Select(g => $"{g.Host}:{g.Port}")));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Duration is { } duration) stop.CancelAfter(duration);
        _runToken = stop.Token;
        _clock.Start();
        Start(settings.Clients, settings.RampUp);
        var publisher = new TopicPublisher(_grpc, settings, _tokens, Metrics, _logger).RunAsync(stop.Token);
        var summary = Summary.RunAsync(settings.SummaryInterval, Report, stop.Token);

        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        try
        {
            await Task.WhenAll(_running.Values.Select(r => r.Task).Append(publisher).Append(summary));
        }
        catch (Exception ex)
        {
            // A client or the publisher failed in a way it does not handle: say so, but still report what was measured.
            _logger.LogError(ex, "A client or the publisher ended with an error");
        }
        return Report();
    }

    public RunReport Report()
    {
        lock (_everyClient) return RunReport.From([.. _everyClient], Metrics, _clock.Elapsed);
    }

    /// <summary>Starts <paramref name="count"/> more clients, spread over <paramref name="rampUp"/>; returns their ids.</summary>
    public IReadOnlyList<string> Start(int count, TimeSpan rampUp = default)
    {
        var grpc = _grpc ?? throw new InvalidOperationException("the run has not started");
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var index = Interlocked.Increment(ref _lastIndex);
            var client = new EmulatedClient(index, $"{settings.IdPrefix}{index}", grpc, _addresses, settings, _tokens, Metrics, _logger);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(_runToken);
            lock (_everyClient) _everyClient.Add(client.Stats);
            var task = RunClientAsync(client, count > 1 ? rampUp * i / count : TimeSpan.Zero, stop.Token);
            _running[client.Id] = new RunningClient(client, stop, task);
            ids.Add(client.Id);
        }
        return ids;
    }

    /// <summary>Unsubscribes and stops one client. False if no such client runs.</summary>
    public async Task<bool> StopAsync(string id)
    {
        if (!_running.TryRemove(id, out var running)) return false;
        _logger.LogInformation("Unsubscribe client ID: {ClientId}", id);
        try
        {
            // As the original: Unsubscribe ends the stream with OK, which ends the client's loop.
            await _grpc!.UnsubscribeAsync(new Request { Id = id }, deadline: DateTime.UtcNow.AddSeconds(10));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            // Between two streams, or the cluster is away: the cancel below stops it either way.
        }
        running.Stop.Cancel();
        await running.Task;
        running.Stop.Dispose();
        return true;
    }

    public async Task<IReadOnlyList<string>> StopAllAsync()
    {
        var ids = _running.Keys.ToArray();
        await Task.WhenAll(ids.Select(StopAsync));
        return ids;
    }

    /// <summary>The original's /client/notify: n NotifyReceived calls with fresh ids.</summary>
    public async Task<(List<object> Results, int Errors)> NotifyAsync(int count)
    {
        var results = new List<object>(count);
        var errors = 0;
        for (var i = 0; i < count; i++)
        {
            try
            {
                var reply = await _grpc!.NotifyReceivedAsync(new Request { Id = Guid.NewGuid().ToString("N") },
                    new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)).WithWaitForReady());
                results.Add(new { data = reply.Data });
            }
            catch (RpcException ex)
            {
                errors++;
                results.Add(new { error = $"{ex.StatusCode}: {ex.Status.Detail}" });
            }
        }
        return (results, errors);
    }

    private static async Task RunClientAsync(EmulatedClient client, TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.Yield();
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

    private sealed record RunningClient(EmulatedClient Client, CancellationTokenSource Stop, Task Task);
}
