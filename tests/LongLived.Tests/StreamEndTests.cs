using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Tests;

/// <summary>How a live stream ends when the gateway drains or its client cannot keep up, and that nothing is lost.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StreamEndTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Server_stop_ends_a_live_stream_with_UNAVAILABLE()
    {
        await using var gateway = await cluster.StartExtraGatewayAsync();
        var id = TestStreams.NewId("drained");
        using var call = new Longlived.LonglivedClient(cluster.Channel(gateway.Port)).Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, Contracts.Grains.ChannelNames.ForClient(id));

        using var http = new HttpClient();
        (await http.PostAsync($"http://127.0.0.1:{gateway.AdminPort}/server/stop", null)).EnsureSuccessStatusCode();

        var ended = await call.ResponseStream.EndAsync();
        Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
        Assert.Contains("draining", ended.Status.Detail);
    }

    [Fact]
    public async Task A_slow_consumer_ends_with_RESOURCE_EXHAUSTED_and_resumes_without_loss()
    {
        await using var gateway = await cluster.StartExtraGatewayAsync("--Gateway:StreamBufferCapacity=4");
        var topic = TestStreams.NewId("firehose");
        var id = TestStreams.NewId("slow");
        var client = new Longlived.LonglivedClient(cluster.Channel(gateway.Port));
        using var slow = client.Subscribe(TestStreams.Subscribe(id, topic));
        await slow.ReadyAsync();

        // 16 KB messages: a client that does not read fills its HTTP/2 window after a few, then the 4-message buffer.
        var payload = new string('x', 16 * 1024);
        const int count = 40;
        string epoch = "";
        for (var i = 1; i <= count; i++) epoch = (await client.PublishAsync(new PublishRequest { Channel = topic, Data = $"{i}:{payload}" })).Epoch;

        // The gateway ends the overflowing stream with RESOURCE_EXHAUSTED (its metric says so). What the client sees
        // depends on HTTP/2 flow control: with the window still full, Kestrel resets the stream and the client reads
        // CANCELLED or INTERNAL (the RST_STREAM code); each means "resubscribe", and a stream that never ends fails here.
        var text = await OperatorEndpointTests.EventuallyAsync($"http://127.0.0.1:{gateway.AdminPort}/metrics", "status=\"ResourceExhausted\"");
        Assert.Matches("longlived_gateway_streams_ended_total\\{[^}]*status=\"ResourceExhausted\"[^}]*\\} 1", text);
        var ended = await slow.ResponseStream.EndAsync();
        Assert.Contains(ended.StatusCode, new[] { StatusCode.ResourceExhausted, StatusCode.Cancelled, StatusCode.Internal });

        using var resumed = client.Subscribe(TestStreams.Subscribe(id, topic).WithPosition(topic, 0, epoch));
        var all = await resumed.ResponseStream.TakeAsync(count, topic);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), all.Select(m => m.Offset));
        Assert.All(all, m => Assert.False(m.Unrecoverable));
    }
}
