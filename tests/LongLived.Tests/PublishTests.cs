using LongLived.Contracts;

namespace LongLived.Tests;

[Collection(ClusterCollection.Name)]
public sealed class PublishTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Publish_reaches_subscribers_on_two_gateways_once_each_in_order()
    {
        var topic = TestStreams.NewId("news");
        using var onGateway1 = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(TestStreams.NewId("reader"), topic));
        using var onGateway2 = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(TestStreams.NewId("reader"), topic));
        await onGateway1.ReadyAsync();
        await onGateway2.ReadyAsync();

        var publisher = cluster.Client(cluster.Port1);
        for (var i = 1; i <= 20; i++)
        {
            var published = await publisher.PublishAsync(new PublishRequest { Channel = topic, Data = $"m{i}" });
            Assert.Equal((ulong)i, published.Offset);
        }

        foreach (var call in new[] { onGateway1, onGateway2 })
        {
            var received = await call.ResponseStream.TakeAsync(20, topic);
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), received.Select(m => m.Offset));
            Assert.Equal(Enumerable.Range(1, 20).Select(i => $"m{i}"), received.Select(m => m.Data));
        }
    }

    [Fact]
    public async Task A_retried_publish_with_the_same_idempotency_key_appends_once()
    {
        var topic = TestStreams.NewId("orders");
        var client = cluster.Client(cluster.Port2);

        var first = await client.PublishAsync(new PublishRequest { Channel = topic, Data = "a", IdempotencyKey = "k1" });
        var retry = await client.PublishAsync(new PublishRequest { Channel = topic, Data = "a", IdempotencyKey = "k1" });
        var next = await client.PublishAsync(new PublishRequest { Channel = topic, Data = "b" });

        Assert.Equal(first.Offset, retry.Offset);
        Assert.Equal(first.Epoch, retry.Epoch);
        Assert.Equal(first.Offset + 1, next.Offset);
    }
}
