using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

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
    public async Task NotifyReceived_and_Unsubscribe_without_id_get_INVALID_ARGUMENT()
    {
        var client = cluster.Client(cluster.Port1);
        var notify = await Assert.ThrowsAsync<RpcException>(async () => await client.NotifyReceivedAsync(new Request()));
        var unsubscribe = await Assert.ThrowsAsync<RpcException>(async () => await client.UnsubscribeAsync(new Request()));
        Assert.Equal(StatusCode.InvalidArgument, notify.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, unsubscribe.StatusCode);
    }
}
