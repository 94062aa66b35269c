using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;

namespace LongLived.Bench;

/// <summary>
/// The one load client used against both sides: a few HTTP/2 connections per server (streams multiplexed on them),
/// nothing per stream beyond the call itself and its position.
/// </summary>
public sealed class LoadClient : IDisposable
{
    private readonly Longlived.LonglivedClient[][] _clients;
    private readonly GrpcChannel[] _connections;

    public LoadClient(IReadOnlyList<string> addresses, int connectionsPerServer = 8)
    {
        _connections = addresses.SelectMany(a => Enumerable.Range(0, connectionsPerServer).Select(_ => GrpcChannel.ForAddress(a, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true, // beyond the server's streams per connection, open another
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        }))).ToArray();
        _clients = addresses.Select((_, s) => Enumerable.Range(0, connectionsPerServer)
            .Select(c => new Longlived.LonglivedClient(_connections[s * connectionsPerServer + c])).ToArray()).ToArray();
    }

    public int Servers => _clients.Length;

    /// <summary>The stub for server <paramref name="server"/>, spread over its connections by <paramref name="key"/>.</summary>
    public Longlived.LonglivedClient For(int server, int key) => _clients[server][key % _clients[server].Length];

    public void Dispose()
    {
        foreach (var connection in _connections) connection.Dispose();
    }
}

/// <summary>What every subscriber of a scenario records: latency (all, and per time window) and totals.</summary>
public sealed class Recorder(TimeSpan window)
{
    private readonly DateTime _start = DateTime.UtcNow;
    private readonly List<Histogram> _windows = [];
    public Histogram Latency { get; private set; } = new();
    public long Received => Interlocked.Read(ref _received);
    public long Gaps => Interlocked.Read(ref _gaps);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Failures => Interlocked.Read(ref _failures);
    internal long _received, _gaps, _duplicates, _failures;
    /// <summary>Only messages received while measuring count for latency and totals (warm-up excluded).</summary>
    public volatile bool Measuring;

    public void Reset()
    {
        Latency = new Histogram();
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _gaps, 0);
        Interlocked.Exchange(ref _duplicates, 0);
    }

    public IReadOnlyList<Histogram> Windows { get { lock (_windows) return [.. _windows]; } }

    internal void RecordLatency(double ms)
    {
        Latency.Record(ms);
        var index = (int)((DateTime.UtcNow - _start) / window);
        Histogram bucket;
        lock (_windows)
        {
            while (_windows.Count <= index) _windows.Add(new Histogram());
            bucket = _windows[index];
        }
        bucket.Record(ms);
    }
}

/// <summary>One subscriber: keeps its positions, resubscribes to the next server with them on any failure.</summary>
public sealed class Subscriber(string id, IReadOnlyList<string> topics, int[] servers, int key)
{
    private readonly Dictionary<string, Position> _positions = new(StringComparer.Ordinal);
    private readonly Metadata? _token = BenchTokens.For(id, topics);
    private long _lastReceivedTicks;

    public string Id { get; } = id;
    public int Failures { get; private set; }
    /// <summary>When the first message after the latest failure arrived (UTC ticks; 0: none yet, or no failure).</summary>
    public long ResumedAtTicks { get; private set; }
    /// <summary>When the last Subscribe after a failure was accepted (its response headers arrived): the stream is back, before any message.</summary>
    public long ReattachedAtTicks { get; private set; }
    /// <summary>When the latest failure reached this subscriber (UTC ticks), and when its next Subscribe was sent.</summary>
    public long FailedAtTicks { get; private set; }
    public long RetriedAtTicks { get; private set; }
    public long LastReceivedTicks => Interlocked.Read(ref _lastReceivedTicks);

    public async Task RunAsync(LoadClient load, Recorder recorder, Action<Subscriber>? established, CancellationToken ct)
    {
        var attempt = 0;
        var signalled = false;
        var failedSince = false;
        while (!ct.IsCancellationRequested)
        {
            var server = servers[attempt % servers.Length];
            var request = new Request { Id = Id };
            request.Topics.AddRange(topics);
            foreach (var (channel, position) in _positions) request.Positions[channel] = position;
            try
            {
                var subscribedAtMs = NowMs();
                if (failedSince) RetriedAtTicks = DateTime.UtcNow.Ticks;
                using var call = load.For(server, key).Subscribe(request, _token, cancellationToken: ct);
                await call.ResponseHeadersAsync;
                if (failedSince) ReattachedAtTicks = DateTime.UtcNow.Ticks;
                if (!signalled) { signalled = true; established?.Invoke(this); }
                await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (failedSince) { ResumedAtTicks = DateTime.UtcNow.Ticks; failedSince = false; }
                    Observe(response, recorder, subscribedAtMs);
                }
                return; // OK: unsubscribed
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                Failures++;
                if (!failedSince) FailedAtTicks = DateTime.UtcNow.Ticks;
                failedSince = true;
                ResumedAtTicks = 0;
                if (recorder.Measuring) Interlocked.Increment(ref recorder._failures);
                attempt++;
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 50 * attempt) * (0.5 + Random.Shared.NextDouble() / 2)), ct); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Observe(Response response, Recorder recorder, double subscribedAtMs)
    {
        var measuring = recorder.Measuring;
        if (_positions.TryGetValue(response.Channel, out var last) && !response.Unrecoverable && response.Epoch == last.Epoch)
        {
            if (response.Offset <= last.Offset)
            {
                if (measuring) Interlocked.Increment(ref recorder._duplicates);
                return;
            }
            if (response.Offset > last.Offset + 1 && measuring) Interlocked.Add(ref recorder._gaps, (long)(response.Offset - last.Offset - 1));
        }
        _positions[response.Channel] = new Position { Offset = response.Offset, Epoch = response.Epoch };
        Interlocked.Exchange(ref _lastReceivedTicks, DateTime.UtcNow.Ticks);
        if (!measuring) return;
        Interlocked.Increment(ref recorder._received);
        // Replayed history measures the outage, not the relay: only live messages count for latency.
        if (response.PublishTimeUnixMs >= subscribedAtMs - 1) recorder.RecordLatency(Math.Max(0, NowMs() - response.PublishTimeUnixMs));
    }

    private static double NowMs() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
}
