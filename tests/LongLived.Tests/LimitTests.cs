using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Tests;

/// <summary>
/// Gateway:Limits as a client meets them: RESOURCE_EXHAUSTED at once, with a message that names the limit, and the
/// gateway still serving everyone else. Small limits so each is reached in a few calls.
/// </summary>
public sealed class LimitTests
{
    private static Task<OwnCluster> StartAsync(params string[] gateway) => OwnCluster.StartAsync(
        ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId=limits-{Guid.NewGuid():N}"], gateway: gateway);

    [Fact]
    public async Task Streams_beyond_the_gateway_maximum_are_refused_at_once_and_admitted_again_when_one_ends()
    {
        await using var cluster = await StartAsync("--Gateway:Limits:MaxStreams=3");
        var calls = Enumerable.Range(0, 3).Select(i => cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("held")))).ToList();
        foreach (var call in calls) await call.ReadyAsync();

        using (var fourth = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("fourth"))))
        {
            var refused = await fourth.ResponseStream.EndAsync();
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("maximum of 3 streams", refused.Status.Detail);
        }

        calls[0].Dispose();
        // The slot comes back once the gateway has seen the cancellation: retry for a bounded while.
        using var deadline = new CancellationTokenSource(TestStreams.Patience);
        while (true)
        {
            using var again = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("again")));
            try
            {
                await again.ReadyAsync();
                break;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && !deadline.IsCancellationRequested)
            {
                await Task.Delay(100);
            }
        }
        foreach (var call in calls.Skip(1)) call.Dispose();
    }

    [Fact]
    public async Task A_reconnect_loop_of_one_client_id_is_throttled_and_other_ids_are_not()
    {
        await using var cluster = await StartAsync("--Gateway:Limits:SubscribesPerSecondPerClient=0.1", "--Gateway:Limits:SubscribeBurstPerClient=2");
        var looping = TestStreams.NewId("loop");
        for (var i = 0; i < 2; i++)
        {
            using var call = cluster.Client.Subscribe(TestStreams.Subscribe(looping));
            await call.ReadyAsync();
        }
        using var third = cluster.Client.Subscribe(TestStreams.Subscribe(looping));
        var refused = await third.ResponseStream.EndAsync();
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains($"too many subscribes for client id {looping}", refused.Status.Detail);
        Assert.Contains("retry after", refused.Status.Detail);

        using var other = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("other")));
        await other.ReadyAsync();
    }

    [Fact]
    public async Task Subscribes_from_one_address_are_limited()
    {
        await using var cluster = await StartAsync("--Gateway:Limits:SubscribesPerSecondPerAddress=0.1", "--Gateway:Limits:SubscribeBurstPerAddress=3");
        var calls = new List<AsyncServerStreamingCall<Response>>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                calls.Add(cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("addr"))));
                await calls[^1].ReadyAsync();
            }
            using var fourth = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("addr")));
            var refused = await fourth.ResponseStream.EndAsync();
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("too many subscribes from 127.0.0.1", refused.Status.Detail);
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }
    }

    /// <summary>Unary calls from one address, checked before the token: a flood of them is refused, whatever the call.</summary>
    [Fact]
    public async Task Unary_calls_from_one_address_are_limited_before_the_token_is_checked()
    {
        await using var cluster = await StartAsync("--Gateway:Limits:CallsPerSecondPerAddress=0.1", "--Gateway:Limits:CallBurstPerAddress=3",
            "--Gateway:Auth:SigningKey=unary-limit-test-key-0123456789abcdef");
        // Without a token: refused for that while the bucket lasts, then for the rate, before any token check.
        for (var i = 0; i < 3; i++)
        {
            var unauthenticated = await Assert.ThrowsAsync<RpcException>(async () =>
                await cluster.Client.NotifyReceivedAsync(new Request { Id = $"flood-{i}" }));
            Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);
        }
        foreach (var call in new Func<Task>[]
        {
            async () => await cluster.Client.NotifyReceivedAsync(new Request { Id = "flood" }),
            async () => await cluster.Client.UnsubscribeAsync(new Request { Id = "flood" }),
            async () => await cluster.Client.PublishAsync(new PublishRequest { Channel = "flood", Data = "x" }),
        })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("too many calls from 127.0.0.1", refused.Status.Detail);
        }
    }

    [Fact]
    public async Task Publish_rate_payload_bytes_and_message_size_are_limited()
    {
        await using var cluster = await StartAsync(
            "--Gateway:Limits:PublishesPerSecond=0.1", "--Gateway:Limits:PublishBurst=3",
            "--Gateway:Limits:PublishBytesPerSecond=1", "--Gateway:Limits:PublishBytesBurst=10000");
        var topic = TestStreams.NewId("limited");
        using var reader = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("reader"), topic));
        await reader.ReadyAsync();

        // Bytes first: 6,000 + 6,000 bytes overdraw a 10,000-byte bucket.
        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = new string('a', 6000) });
        var bytes = await Assert.ThrowsAsync<RpcException>(async () => await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = new string('b', 6000) }));
        Assert.Equal(StatusCode.ResourceExhausted, bytes.StatusCode);
        Assert.Contains("too many published bytes", bytes.Status.Detail);

        // The refused publish still took a publish token: one left of three.
        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "small" });
        var rate = await Assert.ThrowsAsync<RpcException>(async () => await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "small" }));
        Assert.Equal(StatusCode.ResourceExhausted, rate.StatusCode);
        Assert.Contains("too many publishes", rate.Status.Detail);

        // A message far beyond Gateway:MaxPublishBytes is refused by gRPC's own size limit before it is parsed.
        var huge = await Assert.ThrowsAsync<RpcException>(async () => await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = new string('c', 1024 * 1024) }));
        Assert.Equal(StatusCode.ResourceExhausted, huge.StatusCode);

        // Only what was accepted was appended.
        var received = await reader.ResponseStream.TakeAsync(2, topic);
        Assert.Equal(["a", "s"], received.Select(r => r.Data[..1]));
        Assert.Equal(received[0].Offset + 1, received[1].Offset);
    }
}
