using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;
using LongLived.Client;
using LongLived.Client.Positions;

namespace LongLived.Tests.ClientLibrary;

/// <summary>LongLived.Client against the real gateways and silo of the test cluster: what a subscription promises.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientSubscribeTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_subscription_resumes_after_UNAVAILABLE_without_a_gap_or_a_duplicate()
    {
        await using var a = await cluster.StartExtraGatewayAsync();
        await using var b = await cluster.StartExtraGatewayAsync();
        var topic = TestStreams.NewId("lib-topic");
        var id = TestStreams.NewId("lib");
        await using var client = ClientKit.Client(ClientKit.Gateways(a.Port, b.Port));
        var reconnects = 0;
        client.Reconnecting += (_, _) => Interlocked.Increment(ref reconnects);
        using var stop = new CancellationTokenSource();
        var publishing = PublishEveryAsync(client, topic, TimeSpan.FromMilliseconds(50), stop.Token);

        // Drain one gateway and then the other while the subscription runs: whichever holds it ends it with UNAVAILABLE.
        Task? draining = null;
        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got =>
        {
            if (draining is null && got.Count(m => m.Channel == topic) >= 10) draining = DrainInTurnAsync(a.AdminPort, b.AdminPort);
            return draining is { IsCompleted: true } && got.Count(m => m.Channel == topic) >= 60;
        }, TimeSpan.FromSeconds(60));
        stop.Cancel();
        await publishing;

        Assert.True(reconnects >= 1, "neither drain reached the subscription");
        ClientKit.AssertConsecutive(read, topic);
        ClientKit.AssertConsecutive(read, ChannelNames.OwnChannel(id));
        Assert.DoesNotContain(read, m => m.Unrecoverable);
    }

    [Fact]
    public async Task A_position_older_than_the_history_raises_the_reset_and_continues_live()
    {
        var topic = TestStreams.NewId("lib-old");
        var store = new InMemoryPositionStore();
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o => o.PositionStore = store);
        PublishResult last = null!;
        for (var i = 1; i <= ClusterFixture.HistoryMaxCount + 30; i++) last = await client.PublishAsync(topic, $"m{i}");
        var id = TestStreams.NewId("lib");
        await store.SaveAsync(id, new Dictionary<string, ChannelPosition> { [topic] = new(1, last.Epoch) }, default);
        var resets = new ConcurrentQueue<ChannelResetEventArgs>();
        var subscribed = new ConcurrentQueue<SubscribedEventArgs>();
        client.ChannelReset += (_, e) => resets.Enqueue(e);
        client.Subscribed += (_, e) =>
        {
            subscribed.Enqueue(e);
            _ = client.PublishAsync(topic, "live");
        };

        var live = last.Offset + 1;
        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got => got.Any(m => m.Channel == topic && m.Offset == live));

        var first = read.First(m => m.Channel == topic);
        Assert.True(first.Unrecoverable, $"the first message after a lost position is flagged: {ClientKit.Describe(read)}");
        var reset = Assert.Single(resets, r => r.Channel == topic);
        Assert.Equal(new ChannelPosition(1, last.Epoch), reset.Previous);
        Assert.Equal(ResetReason.Unrecoverable, reset.Reason);
        Assert.Contains(topic, Assert.Single(subscribed).Unrecoverable);
        ClientKit.AssertConsecutive(read, topic);
    }

    [Fact]
    public async Task Breaking_out_of_a_replay_and_subscribing_again_gets_the_rest()
    {
        var topic = TestStreams.NewId("lib-replay");
        var store = new InMemoryPositionStore();
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1, cluster.Port2), o => o.PositionStore = store);
        for (var i = 1; i <= 30; i++) await client.PublishAsync(topic, $"m{i}");
        var id = TestStreams.NewId("lib");
        await store.SaveAsync(id, new Dictionary<string, ChannelPosition> { [topic] = new(0, "") }, default);

        var firstPart = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got => got.Count(m => m.Channel == topic) == 10);
        var rest = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got => got.Any(m => m.Channel == topic && m.Offset == 30));

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), firstPart.Where(m => m.Channel == topic).Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(11, 20).Select(i => (ulong)i), rest.Where(m => m.Channel == topic).Select(m => m.Offset));
    }

    [Fact]
    public async Task Unsubscribe_ends_a_live_subscription_without_an_error()
    {
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1, cluster.Port2));
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);
        var id = TestStreams.NewId("lib");
        var received = 0;

        var reading = Task.Run(async () =>
        {
            await foreach (var _ in client.SubscribeAsync(id)) Interlocked.Increment(ref received);
        });
        await ClientKit.WaitForAsync(() => Volatile.Read(ref received) >= 3, ClientKit.Patience);
        Assert.True(await client.UnsubscribeAsync(id));
        await reading.WaitAsync(ClientKit.Patience); // ends, and without throwing

        Assert.Equal(CloseReason.Unsubscribed, Assert.Single(closed).Reason);
    }

    [Fact]
    public async Task Unsubscribe_while_connecting_ends_the_subscription()
    {
        var policy = new RecordingPolicy(_ => TimeSpan.FromMilliseconds(200));
        await using var client = ClientKit.Client(ClientKit.Gateways(ClusterFixture.FreePort()), o => o.RetryPolicy = policy);
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);
        var id = TestStreams.NewId("lib");

        var reading = Task.Run(async () =>
        {
            await foreach (var _ in client.SubscribeAsync(id)) { }
        });
        await ClientKit.WaitForAsync(() => policy.Asked.Count >= 2, ClientKit.Patience);
        using (var give = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            // No gateway answers, so the call itself cannot succeed; the subscription must stop all the same.
            await Assert.ThrowsAnyAsync<Exception>(() => client.UnsubscribeAsync(id, give.Token));
        }
        await reading.WaitAsync(ClientKit.Patience);

        Assert.Equal(CloseReason.Unsubscribed, Assert.Single(closed).Reason);
    }

    [Fact]
    public async Task A_refused_subscription_ends_the_enumeration_with_its_status()
    {
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1));
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);

        var invalid = await Assert.ThrowsAsync<RpcException>(() => ClientKit.ReadUntilAsync(client.SubscribeAsync(TestStreams.NewId("lib"), ["not a topic!"]), _ => false));

        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal(CloseReason.Refused, Assert.Single(closed).Reason);
    }

    [Fact]
    public async Task A_newer_subscription_of_the_same_id_ends_the_older_with_ABORTED()
    {
        await using var older = ClientKit.Client(ClientKit.Gateways(cluster.Port1));
        await using var newer = ClientKit.Client(ClientKit.Gateways(cluster.Port2));
        var id = TestStreams.NewId("lib");
        var received = 0;
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in older.SubscribeAsync(id)) Interlocked.Increment(ref received);
        });
        await ClientKit.WaitForAsync(() => Volatile.Read(ref received) >= 2, ClientKit.Patience);

        await ClientKit.ReadUntilAsync(newer.SubscribeAsync(id), got => got.Count >= 2);

        var replaced = await Assert.ThrowsAsync<RpcException>(() => reading.WaitAsync(ClientKit.Patience));
        Assert.Equal(StatusCode.Aborted, replaced.StatusCode);
    }

    [Fact]
    public async Task Handlers_that_throw_never_break_the_client()
    {
        var store = new InMemoryPositionStore();
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o => o.PositionStore = store);
        var calls = new ConcurrentDictionary<string, int>();
        void Throw(string what)
        {
            calls.AddOrUpdate(what, 1, (_, n) => n + 1);
            throw new InvalidOperationException($"{what} handler bug");
        }
        client.Subscribed += (_, _) => Throw("subscribed");
        client.ChannelReset += (_, _) => Throw("reset");
        client.Closed += (_, _) => Throw("closed");
        var id = TestStreams.NewId("lib");
        // A position in an epoch the channel never had: the gateway reports it unrecoverable, which raises a reset.
        await store.SaveAsync(id, new Dictionary<string, ChannelPosition> { [ChannelNames.OwnChannel(id)] = new(5, "gone") }, default);

        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id), got => got.Count >= 5);

        ClientKit.AssertConsecutive(read, ChannelNames.OwnChannel(id));
        Assert.Equal(1, calls.GetValueOrDefault("subscribed"));
        Assert.Equal(1, calls.GetValueOrDefault("reset"));
        Assert.Equal(1, calls.GetValueOrDefault("closed"));
    }

    [Fact]
    public async Task A_dns_address_balances_over_what_the_name_resolves_to()
    {
        await using var client = ClientKit.Client($"dns:///localhost:{cluster.Port1}");
        var id = TestStreams.NewId("lib");

        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id), got => got.Count >= 3);

        ClientKit.AssertConsecutive(read, ChannelNames.OwnChannel(id));
    }

    [Fact]
    public async Task Automatic_acknowledgements_are_batched_and_reach_the_gateway()
    {
        var acknowledgements = new CountCalls("NotifyReceived");
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o =>
        {
            o.AcknowledgeInterval = TimeSpan.FromSeconds(1);
            o.Interceptors.Add(acknowledgements);
        });
        var id = TestStreams.NewId("lib");
        var own = ChannelNames.OwnChannel(id);
        using var metrics = new System.Diagnostics.Metrics.MeterListener();
        long counted = 0;
        metrics.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ClientTelemetry.Name && instrument.Name == "longlived.client.messages") listener.EnableMeasurementEvents(instrument);
        };
        metrics.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        metrics.Start();

        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id), got => got.Count >= 10); // about 2 s of a 200 ms generator
        var last = read[^1];

        // What was taken was acknowledged (at the end at the latest), in fewer calls than messages.
        Assert.InRange(acknowledgements.Count, 1, read.Count / 2);
        Assert.True(Interlocked.Read(ref counted) >= read.Count, $"the LongLived.Client meter counted {counted} of {read.Count}");
        // A client of the original contract (no positions) resumes after the acknowledged position.
        using var call = cluster.Client(cluster.Port2).Subscribe(new Request { Id = id });
        var next = Assert.Single(await call.ResponseStream.TakeAsync(1, own));
        Assert.Equal(last.Offset + 1, next.Offset);
    }

    [Fact]
    public async Task Stopping_while_an_acknowledgement_hangs_still_ends_the_subscription_and_the_client()
    {
        var stuck = new StuckAcknowledgements();
        var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o =>
        {
            o.AcknowledgeInterval = TimeSpan.FromMilliseconds(100);
            o.CallTimeout = TimeSpan.FromSeconds(1);
            o.Interceptors.Add(stuck);
        });
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);

        await ClientKit.ReadUntilAsync(client.SubscribeAsync(TestStreams.NewId("lib")), got => got.Count >= 3 && stuck.Started > 0);
        await client.DisposeAsync().AsTask().WaitAsync(ClientKit.Patience);

        Assert.Equal(CloseReason.Stopped, Assert.Single(closed).Reason);
    }

    [Fact]
    public async Task Cancelling_while_an_inline_acknowledgement_hangs_ends_the_enumeration_quietly()
    {
        var stuck = new StuckAcknowledgements();
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o =>
        {
            o.AcknowledgeInterval = TimeSpan.Zero; // after every message, before the next: as the emulator does
            o.Interceptors.Add(stuck);
        });
        using var stop = new CancellationTokenSource();
        await using var messages = client.SubscribeAsync(TestStreams.NewId("lib"), cancellationToken: stop.Token).GetAsyncEnumerator();
        Assert.True(await messages.MoveNextAsync());

        var next = messages.MoveNextAsync().AsTask(); // acknowledges the first message: the call hangs
        await ClientKit.WaitForAsync(() => stuck.Started > 0, ClientKit.Patience);
        stop.Cancel();

        Assert.False(await next.WaitAsync(ClientKit.Patience)); // the end, not RpcException(Cancelled)
    }

    /// <summary>NotifyReceived calls that never answer until cancelled, as a gateway that stopped answering would.</summary>
    private sealed class StuckAcknowledgements : Interceptor
    {
        private int _started;

        public int Started => Volatile.Read(ref _started);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (context.Method.Name != "NotifyReceived") return continuation(request, context);
            Interlocked.Increment(ref _started);
            var cancelled = context.Options.CancellationToken;
            return new AsyncUnaryCall<TResponse>(NeverAsync<TResponse>(cancelled), Task.FromResult(new Metadata()),
                () => Status.DefaultCancelled, () => [], () => { });
        }

        private static async Task<TResponse> NeverAsync<TResponse>(CancellationToken cancelled)
        {
            await Task.Delay(Timeout.Infinite, cancelled).ContinueWith(_ => { }, TaskScheduler.Default);
            throw new RpcException(Status.DefaultCancelled);
        }
    }

    private sealed class CountCalls(string method) : Interceptor
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (context.Method.Name == method) Interlocked.Increment(ref _count);
            return continuation(request, context);
        }
    }

    internal static async Task PublishEveryAsync(LongLivedClient client, string topic, TimeSpan every, CancellationToken cancellationToken)
    {
        for (var i = 1; !cancellationToken.IsCancellationRequested; i++)
        {
            try
            {
                await client.PublishAsync(topic, $"m{i}", cancellationToken: cancellationToken);
                await Task.Delay(every, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
        }
    }

    private static async Task DrainInTurnAsync(params int[] adminPorts)
    {
        using var http = new HttpClient();
        foreach (var port in adminPorts)
        {
            (await http.PostAsync($"http://127.0.0.1:{port}/server/stop", null)).EnsureSuccessStatusCode();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            (await http.PostAsync($"http://127.0.0.1:{port}/server/start", null)).EnsureSuccessStatusCode();
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }
}
