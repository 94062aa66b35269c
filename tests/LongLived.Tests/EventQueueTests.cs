using System.Text.RegularExpressions;
using LongLived.Contracts.Grains;
using LongLived.Streams;
using LongLived.Tests.Failover;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Streams;

namespace LongLived.Tests;

/// <summary>
/// The event-driven stream queue (<see cref="EventQueueGrain"/>) on a real silo: a read waits for data instead of
/// polling, order is kept, a full queue refuses with a clear error, a waiting read holds up no shutdown, and an idle
/// cluster reads its queues once per wait, not once per poll.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EventQueueTests(ClusterFixture cluster)
{
    // A queue of a provider nobody registered: no pulling agent reads it, the test is its only reader.
    private IEventQueueGrain Queue() => cluster.Grains.GetGrain<IEventQueueGrain>($"probe-{Guid.NewGuid():N}/0");

    private static EventBatch Batch(int n) => new(StreamId.Create("probe", "s"), [n], null);

    [Fact]
    public async Task A_read_of_an_empty_queue_waits_for_the_next_batch_and_order_is_kept()
    {
        var queue = Queue();
        var waiting = queue.Read(0, 100, TimeSpan.FromSeconds(20), CancellationToken.None);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "a read of an empty queue returned before anything was queued");
        for (var i = 1; i <= 50; i++) await queue.Enqueue(Batch(i));

        var first = await waiting.WaitAsync(TimeSpan.FromSeconds(15)); // woken by the first batch, long before its wait ends
        var all = first.Concat(await queue.Read(first[^1].Token.SequenceNumber, 100, TimeSpan.Zero, CancellationToken.None)).ToList();
        Assert.Equal(Enumerable.Range(1, 50), all.Select(b => (int)b.Events[0]));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.SequenceToken.CompareTo(p.Second.SequenceToken) < 0), "sequence tokens do not grow with the order");
    }

    [Fact]
    public async Task A_read_of_an_idle_queue_returns_nothing_when_its_wait_ends()
    {
        Assert.Empty(await Queue().Read(0, 10, TimeSpan.FromMilliseconds(200), CancellationToken.None));
    }

    /// <summary>
    /// A read's reply can fail to reach its reader (the agent cancelled the read as it stopped, or its silo died with
    /// the call in flight): its batches must be read again by the next read, not lost with the reply. They leave the
    /// queue only when a read confirms them.
    /// </summary>
    [Fact]
    public async Task Batches_whose_reply_never_reached_the_reader_are_read_again_until_confirmed()
    {
        var queue = Queue();
        for (var i = 1; i <= 3; i++) await queue.Enqueue(Batch(i));
        var lost = await queue.Read(0, 10, TimeSpan.Zero, CancellationToken.None); // the reply the reader never got

        var again = await queue.Read(0, 10, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal([1, 2, 3], again.Select(b => (int)b.Events[0]));
        Assert.Equal(lost.Select(b => b.Token.SequenceNumber), again.Select(b => b.Token.SequenceNumber));
        await queue.Enqueue(Batch(4));
        var next = await queue.Read(again[^1].Token.SequenceNumber, 10, TimeSpan.Zero, CancellationToken.None); // confirms 1..3
        Assert.Equal([4], next.Select(b => (int)b.Events[0]));
    }

    /// <summary>
    /// A read parked by an agent whose silo died (or that moved during a rebalance) must not take the next batches into
    /// a reply nobody reads: the next read, from the queue's new agent, ends it with nothing and gets them.
    /// </summary>
    [Fact]
    public async Task A_newer_read_ends_a_parked_one_and_gets_the_next_batch()
    {
        var queue = Queue();
        var parked = queue.Read(0, 10, TimeSpan.FromSeconds(20), CancellationToken.None);
        await Task.Delay(300);
        var newer = queue.Read(0, 10, TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.Empty(await parked.WaitAsync(TimeSpan.FromSeconds(15)));

        await queue.Enqueue(Batch(1));
        Assert.Equal([1], (await newer.WaitAsync(TimeSpan.FromSeconds(15))).Select(b => (int)b.Events[0]));
    }

    [Fact]
    public async Task A_full_queue_refuses_with_a_clear_error_and_takes_again_once_read()
    {
        await using var own = await OwnCluster.StartAsync(["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=full-{Guid.NewGuid():N}"],
            silo: ["--Orleans:StreamQueueCapacity=3"]);
        // Queue 99 of the delivery streams' provider: its capacity is the configured one, and no agent reads it (8 queues).
        var queue = own.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IEventQueueGrain>($"{DeliveryStreams.Provider}/99");
        for (var i = 0; i < 3; i++) await queue.Enqueue(Batch(i));
        var refused = await Assert.ThrowsAsync<QueueFullException>(() => queue.Enqueue(Batch(3)));
        Assert.Contains("is full (3 batches", refused.Message);
        var read = await queue.Read(0, 10, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(3, read.Length);
        await queue.Read(read[^1].Token.SequenceNumber, 10, TimeSpan.Zero, CancellationToken.None); // confirmed: room again
        await queue.Enqueue(Batch(4));
    }

    /// <summary>
    /// Producers that send together (a silo's own channels tick a hundred at a time) share the queue's calls, one batch
    /// per stream, and each stream keeps its order. One call per event was most of the cost of a live message.
    /// </summary>
    [Fact]
    public async Task Batches_sent_together_share_calls_and_keep_each_streams_order()
    {
        var queue = Queue();
        var outbox = new EventQueueOutbox(queue, "probe", 10_000);
        var streams = Enumerable.Range(0, 10).Select(i => StreamId.Create("probe", $"s{i}")).ToArray();
        // Three producers per stream (channels sending to one gateway's stream), each sending its events in order and
        // waiting for each send, as a channel grain does; all at once.
        await Task.WhenAll(streams.SelectMany(stream => Enumerable.Range(0, 3).Select(producer => Task.Run(async () =>
        {
            for (var n = 1; n <= 50; n++) await outbox.Queue(new EventBatch(stream, [$"{producer}:{n}"], null));
        }))));

        var read = await queue.Read(0, 2000, TimeSpan.Zero, CancellationToken.None);
        foreach (var stream in streams)
        {
            var events = read.Where(b => b.StreamId == stream).SelectMany(b => b.Events).Cast<string>().ToList();
            for (var producer = 0; producer < 3; producer++)
            {
                Assert.Equal(Enumerable.Range(1, 50).Select(n => $"{producer}:{n}"), events.Where(e => e.StartsWith($"{producer}:")));
            }
        }
        Assert.Equal(1500, read.Sum(b => b.Events.Count));
        Assert.True(read.Length < 1500, $"{read.Length} batches for 1,500 events: no call carried two events of one stream");
    }

    /// <summary>
    /// Producers do not wait for their sends, so the outbox bounds what waits while its queue does not answer (a silo
    /// gone, a call that hangs until its timeout): past its capacity a batch is refused at once, with a clear error.
    /// </summary>
    [Fact]
    public async Task An_outbox_whose_queue_does_not_answer_refuses_past_its_capacity()
    {
        var queue = new QueueThatDoesNotAnswer();
        var outbox = new EventQueueOutbox(queue, "stuck/0", capacity: 10);
        var first = outbox.Queue(Batch(0));
        await queue.Called.Task.WaitAsync(TestStreams.Patience); // that call is in flight, and never returns
        var waiting = Enumerable.Range(1, 10).Select(i => outbox.Queue(Batch(i))).ToList();

        var refused = await Assert.ThrowsAsync<QueueFullException>(() => outbox.Queue(Batch(11)));
        Assert.Contains("stream queue stuck/0: 10 events wait", refused.Message);
        Assert.All(waiting.Append(first), task => Assert.False(task.IsCompleted)); // the others wait: not refused, not lost
    }

    private sealed class QueueThatDoesNotAnswer : IEventQueueGrain
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Enqueue(EventBatch batch) => EnqueueMany([batch]);
        public Task EnqueueMany(EventBatch[] batches)
        {
            Called.TrySetResult();
            return new TaskCompletionSource().Task;
        }
        public Task<EventBatch[]> Read(long after, int maxCount, TimeSpan wait, CancellationToken cancellationToken) => throw new NotSupportedException();
        public GrainId GetGrainId() => GrainId.Create("test", "stuck");
    }

    /// <summary>
    /// Several batches in one call are taken all or none: a clear refusal, never a part.
    /// </summary>
    [Fact]
    public async Task A_call_of_several_batches_that_do_not_all_fit_is_refused_whole()
    {
        await using var own = await OwnCluster.StartAsync(["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=full-{Guid.NewGuid():N}"],
            silo: ["--Orleans:StreamQueueCapacity=3"]);
        var queue = own.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IEventQueueGrain>($"{DeliveryStreams.Provider}/99");
        await queue.Enqueue(Batch(0));
        var refused = await Assert.ThrowsAsync<QueueFullException>(() => queue.EnqueueMany([Batch(1), Batch(2), Batch(3)]));
        Assert.Contains("3 refused", refused.Message);
        Assert.Equal([0], (await queue.Read(0, 10, TimeSpan.Zero, CancellationToken.None)).Select(b => (int)b.Events[0]));
        await queue.EnqueueMany([Batch(1), Batch(2)]); // these fit
    }

    /// <summary>
    /// A gateway that died leaves its delivery calls unanswered until Orleans drops it (one to two minutes). Orleans'
    /// own queue cache then stopped reading the queue once the dead consumer's batches filled it, so every other
    /// gateway with a stream on that queue got nothing live either (and the queue filled and refused events).
    /// </summary>
    [Fact]
    public async Task A_consumer_that_never_answers_holds_up_no_other_gateway_on_its_queue()
    {
        // One queue, so both streams share it and its agent; a small cache, so the dead consumer overflows it soon.
        string[] common = ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=stuck-{Guid.NewGuid():N}", "--Orleans:StreamQueues=1", "--Orleans:StreamCacheCapacity=64"];
        await using var own = await OwnCluster.StartAsync(common);
        var second = LongLived.Gateway.Program.Build([.. common, $"--Gateway:Port={ClusterFixture.FreePort()}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPorts:0={own.SiloGatewayPort}"]);
        await second.StartAsync();
        var never = new TaskCompletionSource();
        try
        {
            var deadGateway = own.Gateway.Services.GetRequiredService<IClusterClient>().GetStreamProvider(DeliveryStreams.Provider);
            var liveGateway = second.Services.GetRequiredService<IClusterClient>().GetStreamProvider(DeliveryStreams.Provider);
            var stuck = deadGateway.GetStream<int>(StreamId.Create("probe", "stuck"));
            await stuck.SubscribeAsync((_, _) => never.Task); // a delivery call nobody answers
            var received = new List<int>();
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var live = liveGateway.GetStream<int>(StreamId.Create("probe", "live"));
            await live.SubscribeAsync((n, _) =>
            {
                lock (received)
                {
                    received.Add(n);
                    if (received.Count == 20) all.TrySetResult();
                }
                return Task.CompletedTask;
            });

            var missedBefore = StreamMetrics.CacheMissed;
            for (var i = 0; i < 5_000; i++) await stuck.OnNextAsync(i); // beyond the cache, and beyond Orleans' own (4,096)
            for (var i = 0; i < 20; i++) await live.OnNextAsync(i);

            // Stalled, this would wait for Orleans to time the dead consumer's delivery out (30 s) and give up on it.
            var finished = await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(20)));
            lock (received) Assert.True(finished == all.Task, $"the live gateway got {received.Count} of 20 events while another consumer of the queue did not answer");
            lock (received) Assert.Equal(Enumerable.Range(0, 20), received);
            // The stuck consumer was really held up, and the cache stayed bounded: what it did not take left the cache.
            Assert.True(StreamMetrics.CacheMissed - missedBefore >= 1_000, $"{StreamMetrics.CacheMissed - missedBefore} batches left the cache untaken");
        }
        finally
        {
            never.TrySetResult();
            await second.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
            await second.DisposeAsync();
        }
    }

    /// <summary>
    /// Issue 15, step 4: a gateway that lagged lost batches in the silo's stream cache, among them the only messages of a
    /// channel it had heard nothing of (so no later message shows the hole, and no "went quiet" check is due). The silo
    /// tells the gateway which delivery stream lost batches, and the gateway checks that stream's channels at once
    /// instead of at its quiet sweep (an hour here): the client gets every message.
    /// </summary>
    [Fact]
    public async Task Batches_a_lagging_gateway_lost_in_the_stream_cache_reach_its_clients_from_history()
    {
        await using var own = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=missed-{Guid.NewGuid():N}", "--Orleans:StreamQueues=1", "--Orleans:StreamCacheCapacity=64"],
            silo: ["--Generator:Interval=00:00:00"],
            gateway: ["--Gateway:DeliveryShards=1", "--Gateway:HeadCheckInterval=00:00:01", "--Gateway:QuietCheckInterval=01:00:00"]);
        var (blocked, quiet) = (TestStreams.NewId("blocked"), TestStreams.NewId("quiet"));
        using var call = own.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("client"), quiet));
        await call.ReadyAsync();
        // A second local subscriber of another channel holds up the gateway's one delivery stream while it takes a message.
        var hub = own.Gateway.Services.GetRequiredService<LongLived.Gateway.Delivery.ChannelHub>();
        var stall = new StallingSink();
        await using var membership = await hub.JoinAsync(blocked, stall, CancellationToken.None);
        await Task.Delay(1000); // the new activations' restart notices and their rejoins come first
        var grains = own.Silo.Services.GetRequiredService<IGrainFactory>();
        try
        {
            await grains.GetGrain<IChannelGrain>(blocked).Publish("holds the stream up", null);
            Assert.True(stall.Entered.Wait(TestStreams.Patience), "the gateway never took the blocking message");
            for (var i = 1; i <= 3; i++) await grains.GetGrain<IChannelGrain>(quiet).Publish($"quiet {i}", null);
            // Other traffic on the same queue pushes the waiting batches out of the cache.
            var probe = own.Gateway.Services.GetRequiredService<IClusterClient>().GetStreamProvider(DeliveryStreams.Provider).GetStream<int>(StreamId.Create("probe", "flood"));
            var missedBefore = StreamMetrics.CacheMissed;
            for (var i = 0; i < 500; i++) await probe.OnNextAsync(i);
            var deadline = DateTime.UtcNow + TestStreams.Patience;
            // Its three messages may be one batch or three: publishes the silo sent together share one (EventQueueOutbox).
            while (StreamMetrics.CacheMissed == missedBefore && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.True(StreamMetrics.CacheMissed > missedBefore, "the quiet channel's batches never left the cache");
        }
        finally
        {
            stall.Release.Set();
        }

        var got = await call.ResponseStream.TakeAsync(3, quiet, TimeSpan.FromSeconds(20));
        Assert.Equal(["quiet 1", "quiet 2", "quiet 3"], got.Select(r => r.Data));
        // From history: the stream lost them (the gRPC client is the only one the gateway relays to).
        Assert.Equal((0, 3), await StreamProviderTests.RelayedAsync(own));
    }

    /// <summary>Blocks the delivery that offers it its first message until released.</summary>
    private sealed class StallingSink : LongLived.Gateway.Delivery.IChannelSink
    {
        public ManualResetEventSlim Entered { get; } = new();
        public ManualResetEventSlim Release { get; } = new();
        public long Fence => 0;

        public void Offer(ChannelMessage message, LongLived.Contracts.Response? encoded)
        {
            if (Entered.IsSet) return;
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(60));
        }

        public void OfferHead(string channel, ChannelHead head, bool restarted = false) { }
    }

    [Fact]
    public async Task A_waiting_read_does_not_hold_up_a_silo_stop()
    {
        var own = await OwnCluster.StartAsync(["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=stop-{Guid.NewGuid():N}", "--Orleans:StreamReadWait=00:00:25"]);
        await Task.Delay(2000); // every pulling agent is in a read that would wait 25 s
        await own.Gateway.StopAsync();
        var stop = own.Silo.StopAsync();
        var finished = await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(20)));
        await own.DisposeAsync();
        Assert.True(finished == stop, "the silo was still stopping after 20 s: a waiting stream-queue read held it up");
    }

    [Fact]
    public async Task An_idle_cluster_reads_its_stream_queues_once_per_wait_not_once_per_poll()
    {
        await using var processes = await ProcessCluster.StartAsync(gateways: 1);
        using var http = new HttpClient();
        var url = $"http://127.0.0.1:{processes.SiloHttpPort}/metrics";
        await Task.Delay(3000);
        var before = Reads(await http.GetStringAsync(url));
        await Task.Delay(TimeSpan.FromSeconds(10));
        var reads = Reads(await http.GetStringAsync(url)) - before;
        // 8 queues, a read waits 5 s: about 16 in 10 s. Polled every 20 ms (memory streams) it would be 4,000.
        Assert.True(reads is >= 0 and <= 40, $"{reads} stream-queue reads in 10 s of an idle cluster");
    }

    private static double Reads(string metrics)
    {
        var lines = Regex.Matches(metrics, @"^longlived_streams_queue_reads_total\{[^}]*\} ([0-9.eE+]+)", RegexOptions.Multiline);
        Assert.True(lines.Count > 0, "the silo exports no longlived_streams_queue_reads_total");
        return lines.Sum(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
