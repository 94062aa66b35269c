// Longer run (replay a failure with its seed: FUZZ_SEED=<seed>):
//   FUZZ_SECONDS=600 dotnet test tests/LongLived.Tests -c Release --filter FullyQualifiedName~FuzzTests
// FUZZ_ITERATIONS=<n> caps the number of inputs; FUZZ_SECONDS (default 15) bounds the time.
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Health.V1;
using LongLived.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using LongLived.Gateway.Sessions;

namespace LongLived.Tests;

/// <summary>
/// A seeded, bounded, hand-rolled mutation fuzzer against a real Kestrel + gateway + silo. Hand-rolled rather than
/// SharpFuzz/libFuzzer because what is fuzzed is the live network surface (HTTP/2 framing, HPACK, gRPC framing,
/// protobuf, the service and its grain calls) over a real socket; an in-process libFuzzer harness around one parser
/// does not reach it, and coverage feedback is not needed to find crashes, hangs and wrong statuses here.
/// (a) valid gRPC requests of the four RPCs, mutated (protobuf bytes and the 5-byte gRPC frame), sent with HttpClient;
/// (b) raw HTTP/2 frames, mutated (headers, lengths, types, flags, stream ids, HPACK, SETTINGS), sent with RawHttp2.
/// Every input is bounded in time and every client-side exception is expected. Afterwards the gateway must still
/// serve: health SERVING, no stream left behind, a fresh subscriber gets every published offset once, in order.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Methods = ["Subscribe", "Unsubscribe", "NotifyReceived", "Publish"];
    private readonly ConcurrentDictionary<string, int> _outcomes = new();
    private readonly ConcurrentDictionary<string, string> _messages = new(); // each distinct status and message, first seen where
    private readonly ConcurrentQueue<string> _bad = new(); // HTTP 500, or INTERNAL without a message

    [Fact]
    public async Task The_gateway_survives_mutated_grpc_requests_and_http2_frames()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : Random.Shared.Next();
        var seconds = double.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), out var t) ? t : 15;
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out var n) ? n : int.MaxValue;
        var replay = $"replay: FUZZ_SEED={seed} FUZZ_SECONDS={seconds}";
        output.WriteLine(replay);

        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", "--Logging:LogLevel:Orleans=Critical", $"--Orleans:ClusterId=fuzz-{Guid.NewGuid():N}"],
            silo: ["--Generator:Interval=00:00:00.5"]);
        using var http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }) { Timeout = Timeout.InfiniteTimeSpan };

        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var done = 0;
        while (done < iterations && clock.Elapsed.TotalSeconds < seconds)
        {
            // Both kinds from one generator: the same seed replays the same inputs in the same order.
            var input = random.Next();
            try
            {
                if (random.Next(10) < 6) await GrpcAsync(http, cluster.Port, new Random(input));
                else await RawAsync(cluster.Port, new Random(input));
            }
            catch (Exception)
            {
                // Expected: timeouts, resets, refused streams, closed connections.
            }
            done++;
        }
        output.WriteLine($"{done} inputs in {clock.Elapsed.TotalSeconds:F1} s; outcomes: {string.Join(", ", _outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} x{o.Value}"))}");

        foreach (var (message, where) in _messages.OrderBy(m => m.Key)) output.WriteLine($"  {message} ({where})");

        // Every stream a fuzz input opened is gone (the client cancelled it or its connection closed).
        var registry = cluster.Gateway.Services.GetRequiredService<SessionRegistry>();
        var settle = Stopwatch.StartNew();
        while (registry.Count > 0 && settle.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(100);
        Assert.True(registry.Count == 0, $"{registry.Count} streams still open after the fuzz inputs closed; {replay}");

        var health = await new Health.HealthClient(cluster.Channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.True(health.Status == HealthCheckResponse.Types.ServingStatus.Serving, $"health {health.Status}; {replay}");
        await AssertServesAsync(cluster, replay);
        Assert.True(_bad.IsEmpty, $"{_bad.Count} answers were HTTP 500 or INTERNAL without a message, e.g. {string.Join(" | ", _bad.Take(5))}; {replay}");
    }

    /// <summary>A fresh subscriber gets N published messages: offsets 1..N, each once, nothing flagged.</summary>
    private static async Task AssertServesAsync(OwnCluster cluster, string replay)
    {
        const int count = 20;
        var topic = TestStreams.NewId("after-fuzz");
        using var call = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("after-fuzz"), topic));
        await call.ReadyAsync();
        for (var i = 1; i <= count; i++)
        {
            await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = $"m{i}" }, deadline: DateTime.UtcNow + TestStreams.Patience);
        }
        var messages = await call.ResponseStream.TakeAsync(count, topic);
        Assert.True(messages.Select(m => m.Offset).SequenceEqual(Enumerable.Range(1, count).Select(i => (ulong)i)) && messages.All(m => !m.Unrecoverable),
            $"after fuzzing, a subscriber got offsets [{string.Join(",", messages.Select(m => m.Offset))}]; {replay}");
    }

    // ---- (a) mutated gRPC requests over HttpClient (HTTP/2 prior knowledge) ----

    private async Task GrpcAsync(HttpClient http, int port, Random r)
    {
        var method = Methods[r.Next(Methods.Length)];
        var body = Mutate(r, ValidMessage(r, method));
        var framed = MutateFrame(r, body);
        var path = r.Next(20) == 0 ? $"/protos.Longlived/{method}x" : $"/protos.Longlived/{method}";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(r.Next(20) == 0 ? "application/grpc+json" : "application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (r.Next(20) == 0) request.Headers.Add("grpc-encoding", "gzip");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var status = Header(response.Headers, "grpc-status");
        var message = Header(response.Headers, "grpc-message");
        if (status is null)
        {
            // Not trailers-only: a unary answer, or a live Subscribe. Read briefly, then cancel (a stream never ends).
            using var brief = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
            brief.CancelAfter(method == "Subscribe" ? 200 : 2000);
            try
            {
                await response.Content.CopyToAsync(Stream.Null, brief.Token);
                status = Header(response.TrailingHeaders, "grpc-status");
                message = Header(response.TrailingHeaders, "grpc-message");
            }
            catch (OperationCanceledException) when (method == "Subscribe" && !timeout.IsCancellationRequested)
            {
                status = "streaming";
            }
        }
        Record(method, (int)response.StatusCode, status, message);
    }

    private void Record(string method, int httpStatus, string? grpcStatus, string? message)
    {
        _outcomes.AddOrUpdate($"{method}:{httpStatus}/{grpcStatus ?? "-"}", 1, (_, c) => c + 1);
        _messages.TryAdd($"{grpcStatus ?? "-"} \"{Uri.UnescapeDataString(message ?? "")}\"", $"{method}");
        if (httpStatus >= 500 || (grpcStatus == "13" && string.IsNullOrWhiteSpace(message)))
        {
            _bad.Enqueue($"{method}: HTTP {httpStatus} grpc-status {grpcStatus ?? "-"} \"{message}\"");
        }
    }

    private static string? Header(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static byte[] ValidMessage(Random r, string method)
    {
        if (method == "Publish")
        {
            return new PublishRequest { Channel = $"fz{r.Next(8)}", Data = new string('d', r.Next(64)), IdempotencyKey = r.Next(2) == 0 ? "" : $"k{r.Next(4)}" }.ToByteArray();
        }
        var request = new Request { Id = $"fz-{r.Next(16)}" };
        var topics = r.Next(3);
        for (var i = 0; i < topics; i++) request.Topics.Add($"fz{r.Next(8)}");
        if (r.Next(2) == 0)
        {
            var channel = topics > 0 && r.Next(2) == 0 ? request.Topics[0] : $"client/{request.Id}";
            request.Positions[channel] = new Position { Offset = (ulong)r.NextInt64(), Epoch = r.Next(2) == 0 ? "" : $"e{r.Next(100)}" };
        }
        return request.ToByteArray();
    }

    /// <summary>0–3 mutations of protobuf bytes: bit flips, inserts, deletes, truncation, huge varints, random fields.</summary>
    private static byte[] Mutate(Random r, byte[] bytes)
    {
        var b = new List<byte>(bytes);
        for (var m = r.Next(4); m > 0; m--)
        {
            switch (r.Next(7))
            {
                case 0 when b.Count > 0: b[r.Next(b.Count)] ^= (byte)(1 << r.Next(8)); break;
                case 1: b.Insert(r.Next(b.Count + 1), (byte)r.Next(256)); break;
                case 2 when b.Count > 0: b.RemoveAt(r.Next(b.Count)); break;
                case 3 when b.Count > 0: b = b.Take(r.Next(b.Count)).ToList(); break;
                case 4: // a field whose length is a huge (or 10-byte, overlong) varint
                    b.InsertRange(r.Next(b.Count + 1), [(byte)((r.Next(1, 6) << 3) | 2), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, (byte)r.Next(2)]);
                    break;
                case 5: // a random tag and wire type with a random varint
                    b.AddRange([(byte)r.Next(256), (byte)(r.Next(128) | 0x80), (byte)r.Next(128)]);
                    break;
                case 6: // a map entry (positions) with a nested garbage Position
                    b.AddRange([0x1A, 6, 0x0A, 1, (byte)'x', 0x12, 1, (byte)r.Next(256)]);
                    break;
            }
        }
        return [.. b];
    }

    /// <summary>The 5-byte gRPC frame, mostly right: sometimes a compressed flag, a lying length, two frames, nothing.</summary>
    private static byte[] MutateFrame(Random r, byte[] message)
    {
        var framed = RawHttp2.GrpcMessage(message);
        switch (r.Next(10))
        {
            case 0: framed[0] = (byte)r.Next(1, 256); break; // compressed flag without grpc-encoding, or garbage
            case 1: BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)(message.Length + r.Next(1, 100))); break; // longer than sent
            case 2 when message.Length > 0: BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)r.Next(message.Length)); break; // shorter: trailing bytes
            case 3: BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), r.Next(2) == 0 ? uint.MaxValue : 5u << 20); break; // over the limit
            case 4: return [.. framed, .. framed]; // two messages for a unary request
            case 5: return framed[..r.Next(5)]; // a cut frame header
            case 6: return [];
        }
        return framed;
    }

    // ---- (b) mutated raw HTTP/2 ----

    private async Task RawAsync(int port, Random r)
    {
        await using var raw = await RawHttp2.ConnectAsync(port, handshake: false);
        var frames = new List<byte[]>();
        var preface = RawHttp2.Preface;
        if (r.Next(20) == 0) preface = preface[..r.Next(preface.Length)];
        frames.Add(preface);
        frames.Add(RawHttp2.Frame(RawHttp2.Settings, 0, 0, r.Next(4) == 0 ? RandomSettings(r) : RawHttp2.SettingsPayload((1, 0), (2, 0))));

        var method = Methods[r.Next(Methods.Length)];
        var streams = r.Next(1, 4);
        for (var i = 0; i < streams; i++)
        {
            var id = raw.NextStreamId();
            var block = RawHttp2.GrpcRequestHeaders(port, $"/protos.Longlived/{method}");
            frames.Add(RawHttp2.Frame(RawHttp2.Headers, RawHttp2.EndHeaders, id, block));
            frames.Add(RawHttp2.Frame(RawHttp2.Data, RawHttp2.EndStream, id, RawHttp2.GrpcMessage(ValidMessage(r, method))));
        }
        for (var m = r.Next(1, 4); m > 0; m--) MutateFrames(r, frames, raw);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        foreach (var frame in frames) await raw.WriteAsync(frame, timeout.Token);
        // Give the server a moment to answer or close; then drop the connection (a bounded wait either way).
        await Task.WhenAny(raw.Closed, Task.Delay(r.Next(50, 300), timeout.Token));
        _outcomes.AddOrUpdate(raw.Closed.IsCompleted ? $"raw:closed/goaway {raw.GoAwayCode?.ToString() ?? "-"}" : "raw:open", 1, (_, c) => c + 1);
        foreach (var stream in raw.Streams)
        {
            if (stream.Header(":status") is { } status) Record("raw", int.Parse(status), stream.GrpcStatus, stream.Header("grpc-message"));
        }
    }

    private static byte[] RandomSettings(Random r)
    {
        var settings = new (ushort, uint)[r.Next(1, 5)];
        for (var i = 0; i < settings.Length; i++)
        {
            uint[] edges = [0, 1, 16383, 16384, 16777215, 16777216, 0x7FFFFFFF, 0x80000000, uint.MaxValue];
            settings[i] = ((ushort)r.Next(0, 10), r.Next(2) == 0 ? edges[r.Next(edges.Length)] : (uint)r.NextInt64(0, uint.MaxValue));
        }
        return RawHttp2.SettingsPayload(settings);
    }

    private static void MutateFrames(Random r, List<byte[]> frames, RawHttp2 raw)
    {
        var i = r.Next(1, frames.Count); // frames[0] is the preface
        var f = frames[i];
        switch (r.Next(12))
        {
            case 0: f[r.Next(9)] ^= (byte)(1 << r.Next(8)); break; // a bit of the frame header
            case 1: f[r.Next(f.Length)] = (byte)r.Next(256); break; // any byte (HPACK, gRPC frame, SETTINGS values)
            case 2: // a lying length
                var length = r.Next(3) switch { 0 => r.Next(0, f.Length), 1 => f.Length + r.Next(1, 100), _ => 0xFFFFFF };
                f[0] = (byte)(length >> 16); f[1] = (byte)(length >> 8); f[2] = (byte)length;
                break;
            case 3: f[3] = (byte)r.Next(256); break; // type, unknown ones included
            case 4: f[4] = (byte)r.Next(256); break; // flags (PADDED, PRIORITY with nothing behind them)
            case 5: BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(5), r.Next(4) switch { 0 => 0, 1 => 2 * r.Next(1, 50), 2 => 1, _ => r.Next() }); break; // stream id
            case 6: frames[i] = f[..r.Next(f.Length)]; break; // truncated
            case 7: // HPACK: a huge integer, a bad index, a Huffman flag over garbage
                var hpack = r.Next(3) switch
                {
                    0 => new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F },
                    1 => [0xFF, 0x80, 0x80, 0x04],
                    _ => [0x00, 0x85, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x61],
                };
                frames.Insert(i, RawHttp2.Frame(RawHttp2.Headers, (byte)(RawHttp2.EndHeaders | (r.Next(2) == 0 ? RawHttp2.EndStream : 0)), raw.NextStreamId(), hpack));
                break;
            case 8: // WINDOW_UPDATE with 0 or an overflowing increment, on the connection or a stream
                var increment = new byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(increment, r.Next(2) == 0 ? 0u : 0x7FFFFFFF);
                frames.Insert(i, RawHttp2.Frame(RawHttp2.WindowUpdate, 0, r.Next(2) == 0 ? 0 : 1, increment));
                break;
            case 9: // a run of CONTINUATION frames (bounded)
                var run = r.Next(1, 50);
                for (var c = 0; c < run; c++) frames.Insert(i, RawHttp2.Frame(RawHttp2.Continuation, 0, 1, [0x00, 0x01, 0x61, 0x01, 0x62]));
                break;
            case 10: // PRIORITY depending on itself, RST_STREAM on an idle stream, a PING of the wrong size
                frames.Insert(i, r.Next(3) switch
                {
                    0 => RawHttp2.Frame(RawHttp2.Priority, 0, 1, [0, 0, 0, 1, 16]),
                    1 => RawHttp2.Frame(RawHttp2.RstStream, 0, 2 * r.Next(1, 20) + 1, [0, 0, 0, 8]),
                    _ => RawHttp2.Frame(RawHttp2.Ping, 0, 0, new byte[r.Next(0, 16)]),
                });
                break;
            case 11: // the stream's frames out of order: DATA before HEADERS
                (frames[i], frames[^1]) = (frames[^1], frames[i]);
                break;
        }
    }
}
