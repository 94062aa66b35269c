using LongLived.Contracts;
using LongLived.Streams.Hosting;

namespace LongLived.Tests;

/// <summary>
/// Both delivery stream providers (<c>Orleans:StreamProvider</c>), and delivery by the gateway's observer
/// (<c>Orleans:Delivery=observer</c>), carry live messages: with the head check out of the way (an hour between checks),
/// only the delivery path can bring a message while its subscriber waits, and the gateway's metrics say each was
/// relayed live, none read from history.
/// </summary>
public sealed class StreamProviderTests
{
    [Theory]
    [InlineData("--Orleans:StreamProvider=longlived")]
    [InlineData("--Orleans:StreamProvider=memory")]
    [InlineData("--Orleans:Delivery=observer")]
    public async Task A_published_message_reaches_subscribers_live(string delivery)
    {
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=provider-{Guid.NewGuid():N}", delivery],
            silo: ["--Generator:Interval=00:00:00"],
            gateway: ["--Gateway:HeadCheckInterval=01:00:00", "--Gateway:QuietCheckInterval=01:00:00"]);
        var topic = TestStreams.NewId("provider");
        using var first = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("a"), topic));
        using var second = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("b"), topic));
        await first.ReadyAsync();
        await second.ReadyAsync();
        await Task.Delay(1000); // the topic's new activation tells the gateway it started; that rejoin (and its head) comes first

        for (var i = 1; i <= 3; i++) await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = $"live {i}" });

        foreach (var call in new[] { first, second })
        {
            var got = await call.ResponseStream.TakeAsync(3, topic, TimeSpan.FromSeconds(15));
            Assert.Equal(["live 1", "live 2", "live 3"], got.Select(r => r.Data));
            Assert.Equal([1ul, 2ul, 3ul], got.Select(r => r.Offset));
        }
        Assert.Equal((6, 0), await RelayedAsync(cluster));
    }

    [Fact]
    public void An_unknown_delivery_path_is_refused_with_the_names_to_use()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new DeliveryStreamOptions { Delivery = "grpc" }.Validated());
        Assert.Equal("Orleans:Delivery is \"grpc\": use \"streams\" (Orleans streams) or \"observer\" (a call to each gateway's observer)", error.Message);
    }

    /// <summary>Messages the gateway relayed (live, from history), from its /metrics as an operator reads them.</summary>
    internal static Task<(long Live, long History)> RelayedAsync(OwnCluster cluster) => RelayedAsync(cluster.AdminPort);

    internal static async Task<(long Live, long History)> RelayedAsync(int adminPort)
    {
        using var http = new HttpClient();
        await Task.Delay(300); // observable counters are read when scraped, but give the last writes a moment
        var text = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics");
        const string relayed = "longlived_gateway_messages_relayed_total";
        return ((long)PrometheusText.Sum(text, relayed, "source", "live"), (long)PrometheusText.Sum(text, relayed, "source", "history"));
    }
}
