using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using LongLived.Channelz;
using LongLived.Client;
using LongLived.Client.Tokens;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;

namespace LongLived.Emulator;

/// <summary>
/// One run: clients and the topic publisher on one <see cref="LongLivedClient"/> (one balanced connection to the
/// gateways), until the duration ends or Ctrl+C.
/// Clients can be started and stopped while it runs (the REST control API); the report covers every client that ran.
/// </summary>
public sealed class EmulatorRun(EmulatorSettings settings, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Emulator");
    private readonly ConcurrentDictionary<string, RunningClient> _running = new();
    private readonly List<ClientStats> _everyClient = [];
    private readonly Stopwatch _clock = new();
    private LongLivedClient? _client;
    private CancellationToken _runToken;
    private int _lastIndex;

    public RunMetrics Metrics { get; } = new();

    /// <summary>This process's channelz entities (its gateway channel and subchannels); null when GRPC_CHANNELZ is off.</summary>
    public ChannelzRegistry? Channelz { get; } = settings.Channelz ? new ChannelzRegistry() : null;

    /// <summary>Clients running now.</summary>
    public IReadOnlyList<EmulatedClient> Clients => [.. _running.Values.Select(r => r.Client).OrderBy(c => c.Index)];

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        await using var client = _client = new LongLivedClient(ClientOptions(), loggerFactory);
        client.Reconnecting += (_, e) => Running(e.ClientId)?.OnReconnecting();
        client.Subscribed += (_, e) => Running(e.ClientId)?.OnSubscribed();
        client.AcknowledgeFailed += (_, e) =>
        {
            if (Running(e.ClientId) is { } failed) Interlocked.Increment(ref failed.Stats.NotifyFailures);
            var detail = e.Status.Detail;
            Metrics.NotifyFailureKinds.AddOrUpdate($"{e.Status.StatusCode}: {detail[..Math.Min(detail.Length, 60)]}", 1, (_, n) => n + 1);
        };
        _logger.LogInformation("Starting {Clients} clients against {Gateways}", settings.Clients, string.Join(", ", client.Addresses.Endpoints.Select(g => $"{g.Host}:{g.Port}")));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Duration is { } duration) stop.CancelAfter(duration);
        _runToken = stop.Token;
        _clock.Start();
        Start(settings.Clients, settings.RampUp);
        var publisher = new TopicPublisher(client, settings, Metrics, _logger).RunAsync(stop.Token);
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
        var client = _client ?? throw new InvalidOperationException("the run has not started");
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var index = Interlocked.Increment(ref _lastIndex);
            var emulated = new EmulatedClient(index, $"{settings.IdPrefix}{index}", client, settings, Metrics, _logger);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(_runToken);
            lock (_everyClient) _everyClient.Add(emulated.Stats);
            _running[emulated.Id] = new RunningClient(emulated, stop, RunClientAsync(emulated, count > 1 ? rampUp * i / count : TimeSpan.Zero, stop.Token));
            ids.Add(emulated.Id);
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
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _client!.UnsubscribeAsync(id, timeout.Token);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            // The cluster is away: the cancel below stops it either way.
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
                var reply = await new Longlived.LonglivedClient(_client!.Connection).NotifyReceivedAsync(new Request { Id = Guid.NewGuid().ToString("N") },
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

    private EmulatedClient? Running(string clientId) => _running.TryGetValue(clientId, out var running) ? running.Client : null;

    /// <summary>
    /// The library's options from the command line: as the original, every message is acknowledged before the next is
    /// taken; tokens as given (--token) or minted per client (--token-key), renewed at half their lifetime.
    /// </summary>
    private LongLivedClientOptions ClientOptions() => new()
    {
        Address = settings.Address,
        UseTls = settings.Tls,
        LoadBalancer = Channelz is { } channelz ? new ChannelzRoundRobinFactory(channelz, channelz.AddChannel(settings.Address)) : null,
        ConfigureHttpHandler = handler => handler.SslOptions.CertificateChainPolicy = TrustOnly(settings.CaFile),
        TokenProvider = TokenProvider(),
        TokenRefreshBefore = settings.TokenLifetime / 2,
        RetryPolicy = new LongLived.Client.Retry.FullJitterRetryPolicy { Base = settings.BackoffBase, Cap = settings.BackoffCap },
        AutoAcknowledge = settings.Notify,
        AcknowledgeInterval = TimeSpan.Zero,
    };

    private Func<TokenRequest, CancellationToken, ValueTask<AccessToken>>? TokenProvider()
    {
        if (!string.IsNullOrEmpty(settings.Token)) return (_, _) => ValueTask.FromResult(new AccessToken(settings.Token));
        if (string.IsNullOrEmpty(settings.TokenKey)) return null;
        // A client's token lets it subscribe to the topics; the publisher's (no client id) lets it publish to them.
        return (request, _) =>
        {
            var expires = DateTime.UtcNow + settings.TokenLifetime;
            var token = request.ClientId is { } id
                ? JwtTokens.Mint(settings.TokenKey, id, settings.Topics, [], expires)
                : JwtTokens.Mint(settings.TokenKey, $"{settings.IdPrefix}publisher", [], settings.Topics, expires);
            return ValueTask.FromResult(new AccessToken(token, expires));
        };
    }

    /// <summary>Gateways' certificates checked against this CA only (a private CA); null: the system's roots.</summary>
    private static System.Security.Cryptography.X509Certificates.X509ChainPolicy? TrustOnly(string? caFile)
    {
        if (string.IsNullOrEmpty(caFile)) return null;
        var policy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
        {
            TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
            RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(caFile));
        return policy;
    }

    private sealed record RunningClient(EmulatedClient Client, CancellationTokenSource Stop, Task Task);
}
