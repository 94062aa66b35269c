using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LongLived.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ValidationTests(ClusterFixture cluster)
{
    public static TheoryData<string, Request> BadSubscribes => new()
    {
        { "empty id", new Request { Id = "" } },
        { "oversized id", new Request { Id = new string('x', 129) } },
        { "control character in id", new Request { Id = "a\u0001b" } },
        { "topic with a slash", TestStreams.Subscribe("ok-id", "bad/name") },
        { "topic posing as a client channel", TestStreams.Subscribe("ok-id", "client/other") },
        { "empty topic", TestStreams.Subscribe("ok-id", "") },
        { "topic too long", TestStreams.Subscribe("ok-id", new string('t', 129)) },
        { "too many topics", TestStreams.Subscribe("ok-id", [.. Enumerable.Range(0, 33).Select(i => $"t{i}")]) },
        { "position for a channel not subscribed", new Request { Id = "ok-id" }.WithPosition("elsewhere", 1, "e") },
        { "position for another client's channel", new Request { Id = "ok-id" }.WithPosition("client/other", 1, "e") },
    };

    [Theory]
    [MemberData(nameof(BadSubscribes))]
    public async Task Bad_subscribe_requests_get_INVALID_ARGUMENT_and_the_gateway_keeps_serving(string what, Request request)
    {
        var client = cluster.Client(cluster.Port1);
        using var bad = client.Subscribe(request);
        var error = await Assert.ThrowsAsync<RpcException>(() => bad.ResponseStream.MoveNext(new CancellationTokenSource(TestStreams.Patience).Token));
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}: {error.Status}");
        Assert.False(string.IsNullOrEmpty(error.Status.Detail), what);

        var id = TestStreams.NewId("after-bad");
        using var good = client.Subscribe(TestStreams.Subscribe(id));
        Assert.Single(await good.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id)));
    }

    [Theory]
    [InlineData("", "data")]
    [InlineData("has space", "data")]
    [InlineData("a/b", "data")]
    public async Task Bad_publish_requests_get_INVALID_ARGUMENT(string channel, string data)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await cluster.Client(cluster.Port2).PublishAsync(new PublishRequest { Channel = channel, Data = data }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Oversized_publish_gets_INVALID_ARGUMENT()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await cluster.Client(cluster.Port2).PublishAsync(new PublishRequest { Channel = "big", Data = new string('x', 64 * 1024 + 1) }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task NotifyReceived_and_Unsubscribe_without_id_and_acknowledgements_without_epoch_get_INVALID_ARGUMENT()
    {
        var client = cluster.Client(cluster.Port1);
        var notify = await Assert.ThrowsAsync<RpcException>(async () => await client.NotifyReceivedAsync(new Request()));
        var noEpoch = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.NotifyReceivedAsync(new Request { Id = "ok-id" }.WithPosition(ChannelNames.ForClient("ok-id"), 3, "")));
        Assert.Equal(StatusCode.InvalidArgument, noEpoch.StatusCode);
        var unsubscribe = await Assert.ThrowsAsync<RpcException>(async () => await client.UnsubscribeAsync(new Request()));
        Assert.Equal(StatusCode.InvalidArgument, notify.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, unsubscribe.StatusCode);
    }

    public static TheoryData<string, byte[]> Unparsable => new()
    {
        { "truncated field", [0x0A, 0x05, (byte)'a'] },               // id: 5 bytes announced, 1 sent
        { "string that is not UTF-8", [0x0A, 0x02, 0xC3, 0x28] },    // id: proto3 strings must be UTF-8
        { "invalid wire type", [0x0F, 0x01] },                      // field 1, wire type 7
    };

    /// <summary>
    /// Bytes protobuf cannot parse, sent as each RPC's request: INVALID_ARGUMENT with the parser's reason (grpc-dotnet
    /// alone answers UNKNOWN and logs an error per call), no error in the gateway's log, and it keeps serving.
    /// </summary>
    [Theory]
    [MemberData(nameof(Unparsable))]
    public async Task Unparsable_requests_get_INVALID_ARGUMENT_and_log_no_error(string what, byte[] body)
    {
        await using var gateway = await cluster.StartExtraGatewayAsync();
        var logs = new CapturedLogs();
        gateway.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        var invoker = cluster.Channel(gateway.Port).CreateCallInvoker();
        var raw = Marshallers.Create<byte[]>(bytes => bytes, bytes => bytes);
        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        var options = new CallOptions(cancellationToken: timeout.Token);

        foreach (var rpc in new[] { "Unsubscribe", "NotifyReceived", "Publish" })
        {
            var unary = new Method<byte[], byte[]>(MethodType.Unary, "protos.Longlived", rpc, raw, raw);
            var error = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(unary, null, options, body));
            Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}, {rpc}: {error.Status}");
            Assert.Contains("not a valid", error.Status.Detail);
        }
        var subscribe = new Method<byte[], byte[]>(MethodType.ServerStreaming, "protos.Longlived", "Subscribe", raw, raw);
        using (var call = invoker.AsyncServerStreamingCall(subscribe, null, options, body))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
            Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}, Subscribe: {error.Status}");
            Assert.Contains("not a valid Request", error.Status.Detail);
        }
        Assert.Empty(logs.Errors);

        var id = TestStreams.NewId("after-unparsable");
        using var good = new Longlived.LonglivedClient(cluster.Channel(gateway.Port)).Subscribe(TestStreams.Subscribe(id));
        Assert.Single(await good.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id)));
    }
}
