using System.Diagnostics;
using LongLived.Contracts;
using Xunit.Abstractions;

namespace LongLived.Tests;

/// <summary>
/// Clients that open Subscribe streams and never read: they announce an HTTP/2 stream window of 0 and never send
/// WINDOW_UPDATE, so not one DATA byte can reach them. Written with <see cref="RawHttp2"/> because grpc-dotnet always
/// reads. They must not cost the others anything: a well-behaved subscriber of the same topic gets every offset, the
/// starved streams are ended by the gateway (per-stream buffer bound), and the gateway's memory stays bounded.
/// </summary>
public sealed class NeverReadingClientTests(ITestOutputHelper output)
{
    private const int Messages = 3000;
    private const int PayloadBytes = 1024;

    [Fact]
    public async Task Streams_that_never_read_are_ended_and_cost_the_others_nothing()
    {
        // History deeper than the burst: under this burst the live path can lag by more than the default 1000 messages
        // (see the next test); here the question is only what the never-reading streams cost the reader.
        var (received, starved, growth) = await BurstAsync(starvedStreams: 50, siloArgs: [$"--History:MaxCount={Messages * 2}"]);

        Assert.True(Contiguous(received), $"the reader lost or repeated messages: {Describe(received)}");
        // The gateway ends every starved stream itself: RST_STREAM, or trailers with grpc-status 8 (RESOURCE_EXHAUSTED).
        // Today it is RST_STREAM(CANCEL): trailers cannot pass the DATA stuck behind a zero window.
        foreach (var s in starved)
        {
            Assert.True(s.ResetCode is not null || s.GrpcStatus == "8", $"expected RST_STREAM or grpc-status 8: {s}");
            Assert.False(s.ByConnectionClose, $"the gateway closed the whole connection instead of the stream: {s}");
            Assert.Equal(0, s.DataBytes); // window 0 held: not one DATA byte
        }

        // Bounded memory: unbounded buffering would keep every message for every starved stream (serialized, ~1 KB
        // each). The silo runs in this process too and holds the history (Messages × ~2 KB as UTF-16).
        var unbounded = 50L * Messages * PayloadBytes;
        Assert.True(growth < unbounded / 4, $"managed memory grew {growth / 1e6:F1} MB (unbounded buffering: {unbounded / 1e6:F0} MB)");
    }

    [Fact]
    public async Task A_burst_reaches_a_fast_reader_without_loss_with_the_default_history()
    {
        // The same burst, no starved stream, default History:MaxCount (1000). A reader that keeps up must not lose
        // messages because the gateway's own live path fell behind the history's depth.
        var (received, _, _) = await BurstAsync(starvedStreams: 0, siloArgs: []);
        Assert.True(Contiguous(received), $"the reader lost or repeated messages: {Describe(received)}");
    }

    /// <summary>
    /// Opens <paramref name="starvedStreams"/> never-reading streams and one grpc-dotnet reader on a topic, publishes
    /// <see cref="Messages"/> × 1 KB from 8 concurrent publishers, and returns what the reader got (offset, flagged
    /// unrecoverable), the starved streams once all ended, and the managed memory growth.
    /// </summary>
    private async Task<(List<(ulong Offset, bool Flagged)> Received, List<RawHttp2.StreamState> Starved, long Growth)> BurstAsync(int starvedStreams, string[] siloArgs)
    {
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", "--Logging:LogLevel:Orleans=Critical", $"--Orleans:ClusterId=starved-{Guid.NewGuid():N}"],
            silo: ["--Generator:Interval=00:00:00", .. siloArgs]); // no mock data: the topic is the only traffic
        var topic = TestStreams.NewId("firehose");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        // One connection, window 0: HEADERS (not flow-controlled) arrive once a stream is set up, no DATA ever.
        await using var raw = await RawHttp2.ConnectAsync(cluster.Port, initialWindow: 0, ct: timeout.Token);
        var starved = new List<RawHttp2.StreamState>();
        for (var i = 0; i < starvedStreams; i++)
        {
            var request = TestStreams.Subscribe(TestStreams.NewId($"starved{i}"), topic);
            starved.Add(await raw.OpenGrpcStreamAsync("/protos.Longlived/Subscribe", RawHttp2.GrpcMessage(request), timeout.Token));
        }
        await WaitAsync(() => starved.All(s => s.Header(":status") == "200"), "every starved stream has its response headers", starved);

        using var good = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("reader"), topic), cancellationToken: timeout.Token);
        await good.ReadyAsync();
        var received = new List<(ulong Offset, bool Flagged)>();
        var reading = Task.Run(async () =>
        {
            while (await good.ResponseStream.MoveNext(timeout.Token))
            {
                var m = good.ResponseStream.Current;
                if (m.Channel != topic) continue;
                lock (received) received.Add((m.Offset, m.Unrecoverable));
                if (m.Offset >= Messages) return;
            }
        });

        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        var payload = new string('x', PayloadBytes);
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= Messages)
            {
                await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = payload }, cancellationToken: timeout.Token);
            }
        })));
        output.WriteLine($"published {Messages} x {PayloadBytes} B in {clock.Elapsed.TotalSeconds:F1} s");

        // The reader stops at the last offset; a gap makes it stop early, so this wait is the same either way.
        var finished = await Task.WhenAny(reading, Task.Delay(TestStreams.Patience));
        Assert.True(finished == reading, $"the reader did not reach offset {Messages} within {TestStreams.Patience}: {Describe(received)}");
        await reading;

        await WaitAsync(() => starved.All(s => s.Ended.IsCompleted), "every starved stream ended by the gateway", starved);
        var growth = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        output.WriteLine($"reader: {Describe(received)}; managed memory growth {growth / 1e6:F1} MB");
        if (starved.Count > 0) output.WriteLine(starved[0].ToString());
        return (received, starved, growth);
    }

    private static bool Contiguous(List<(ulong Offset, bool Flagged)> received) =>
        received.Select(r => r.Offset).SequenceEqual(Enumerable.Range(1, Messages).Select(i => (ulong)i)) && !received.Any(r => r.Flagged);

    /// <summary>"3000 messages, last 3000, gaps 481..739 (flagged unrecoverable at 740)".</summary>
    private static string Describe(List<(ulong Offset, bool Flagged)> received)
    {
        lock (received)
        {
            var problems = new List<string>();
            ulong last = 0;
            foreach (var (offset, flagged) in received)
            {
                if (offset > last + 1) problems.Add($"gap {last + 1}..{offset - 1}");
                else if (offset <= last) problems.Add($"repeat {offset} after {last}");
                if (flagged) problems.Add($"flagged unrecoverable at {offset}");
                last = Math.Max(last, offset);
            }
            return $"{received.Count} messages, last {last}; {(problems.Count == 0 ? "contiguous" : string.Join(", ", problems.Take(20)))}";
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what, List<RawHttp2.StreamState> streams)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TestStreams.Patience)
            {
                Assert.Fail($"not within {TestStreams.Patience}: {what}; {streams.Count(s => s.Ended.IsCompleted)} of {streams.Count} ended; " +
                            $"first still open: {streams.FirstOrDefault(s => !s.Ended.IsCompleted)}");
            }
            await Task.Delay(100);
        }
    }
}
