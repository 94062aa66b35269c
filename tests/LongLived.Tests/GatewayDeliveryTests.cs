using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Gateway.Cluster;
using Microsoft.AspNetCore.Builder;
using LongLived.Silo.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace LongLived.Tests;

/// <summary>
/// Each gateway gets its channels' messages the way it listens, and a channel that fails to send to one tells that
/// gateway to fill from history, and no other: when a gateway dies, each of its channels fails its sends for seconds,
/// and telling every gateway made each of them rejoin its topics once a second.
/// </summary>
public sealed class GatewayDeliveryTests
{
    // Only a notice can bring a missed message: no head check of its own for an hour.
    private static readonly string[] NoChecks = ["--Gateway:HeadCheckInterval=01:00:00", "--Gateway:QuietCheckInterval=01:00:00"];

    [Fact]
    public async Task Only_the_gateway_a_send_failed_to_is_told_and_it_fills_the_message_from_history()
    {
        // Two gateways on their observers; the silo's outbox holds one event for a gateway that does not answer.
        var clusterId = $"failed-send-{Guid.NewGuid():N}";
        string[] common = ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId={clusterId}", "--Orleans:Delivery=observer"];
        await using var cluster = await OwnCluster.StartAsync(common, silo: ["--Generator:Interval=00:00:00", "--Orleans:StreamQueueCapacity=1"], gateway: NoChecks);
        await using var stalled = await cluster.StartExtraGatewayAsync([.. common, .. NoChecks]);
        using var stalledChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{stalled.Port}");
        var topic = TestStreams.NewId("failed-send");
        using var subscribers = await SubscribeOnBothAsync(cluster.Client, new Longlived.LonglivedClient(stalledChannel), topic);
        var (served, missed) = (subscribers.First, subscribers.Second);
        var servedTold = Told(cluster.Gateway);
        var missedTold = Told(stalled.App);
        using var release = new ManualResetEventSlim();
        stalled.App.Services.GetRequiredService<GatewayObserver>().Delivered += _ => release.Wait(TimeSpan.FromSeconds(30)); // stops answering

        // m1's call waits for the stalled gateway, m2 waits for that call, m3 finds the outbox full and is refused.
        foreach (var data in new[] { "m1", "m2", "m3" })
        {
            await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = data });
            await Task.Delay(300);
        }
        Assert.Equal(["m1", "m2", "m3"], (await served.ResponseStream.TakeAsync(3, topic, TimeSpan.FromSeconds(15))).Select(r => r.Data));
        await Task.Delay(1500); // the notice goes out a second after the failure
        release.Set();

        Assert.Equal(["m1", "m2", "m3"], (await missed.ResponseStream.TakeAsync(3, topic, TimeSpan.FromSeconds(15))).Select(r => r.Data));
        Assert.Contains(topic, missedTold);
        Assert.DoesNotContain(topic, servedTold); // it missed nothing; a notice to every gateway went out with the other's
    }

    [Fact]
    public async Task Gateways_on_streams_and_on_their_observer_both_get_live_messages_from_one_silo()
    {
        // The silo is told nothing: each gateway's route says how it listens.
        var clusterId = $"mixed-{Guid.NewGuid():N}";
        string[] common = ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId={clusterId}"];
        await using var cluster = await OwnCluster.StartAsync(common, silo: ["--Generator:Interval=00:00:00"], gateway: [.. NoChecks, "--Orleans:Delivery=observer"]);
        await using var onStreams = await cluster.StartExtraGatewayAsync([.. common, "--Orleans:Delivery=streams", .. NoChecks]);
        using var streamsChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{onStreams.Port}");
        var topic = TestStreams.NewId("mixed");
        using var subscribers = await SubscribeOnBothAsync(cluster.Client, new Longlived.LonglivedClient(streamsChannel), topic);

        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "live" });

        foreach (var call in new[] { subscribers.First, subscribers.Second })
        {
            Assert.Equal("live", Assert.Single(await call.ResponseStream.TakeAsync(1, topic, TimeSpan.FromSeconds(15))).Data);
        }
        // Live, not filled from history: a gateway the silo sent nothing gets it only from its head check (an hour away).
        Assert.Equal((1, 0), await StreamProviderTests.RelayedAsync(cluster));
        Assert.Equal((1, 0), await StreamProviderTests.RelayedAsync(onStreams.AdminPort));
    }

    [Fact]
    public async Task A_gateway_that_registered_after_the_silo_read_its_gateway_list_is_still_told()
    {
        // The silo's real directory and gateways; the notices' own clock is fake and stands still, so the list they read
        // first does not expire by time (it would in 5 s) before the second gateway's send fails.
        var clusterId = $"late-gateway-{Guid.NewGuid():N}";
        string[] common = ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId={clusterId}"];
        await using var cluster = await OwnCluster.StartAsync(common, silo: ["--Generator:Interval=00:00:00"], gateway: NoChecks);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var notices = new GatewayNotices(cluster.Silo.Services.GetRequiredService<IGrainFactory>(), time, NullLogger<GatewayNotices>.Instance);
        var firstTold = Told(cluster.Gateway);
        await notices.TellSendFailedAsync("read-the-list", [cluster.Gateway.Services.GetRequiredService<GatewayObserver>().GatewayId]);
        await Poll.UntilAsync(() => firstTold.Contains("read-the-list"));

        await using var late = await cluster.StartExtraGatewayAsync([.. common, .. NoChecks]);
        var lateTold = Told(late.App);
        var telling = notices.TellSendFailedAsync("missed-on-the-late-gateway", [late.App.Services.GetRequiredService<GatewayObserver>().GatewayId]);
        time.Advance(TimeSpan.FromSeconds(1)); // the list is read again at most once a second
        await telling.WaitAsync(TimeSpan.FromSeconds(10));

        await Poll.UntilAsync(() => lateTold.Contains("missed-on-the-late-gateway"));
    }

    /// <summary>
    /// One subscriber of <paramref name="topic"/> on each gateway, ready, and a moment more: the topic's new activation tells
    /// the gateways it started, and those notices come first.
    /// </summary>
    private static async Task<Subscribers> SubscribeOnBothAsync(Longlived.LonglivedClient first, Longlived.LonglivedClient second, string topic)
    {
        var subscribers = new Subscribers(first.Subscribe(TestStreams.Subscribe(TestStreams.NewId("a"), topic)), second.Subscribe(TestStreams.Subscribe(TestStreams.NewId("b"), topic)));
        await subscribers.First.ReadyAsync();
        await subscribers.Second.ReadyAsync();
        await Task.Delay(1500);
        return subscribers;
    }

    private sealed record Subscribers(AsyncServerStreamingCall<Response> First, AsyncServerStreamingCall<Response> Second) : IDisposable
    {
        public void Dispose()
        {
            First.Dispose();
            Second.Dispose();
        }
    }

    /// <summary>The channels a silo tells the gateway to look at from now on (what it hears, not what it does).</summary>
    private static ConcurrentQueue<string> Told(WebApplication gateway)
    {
        var told = new ConcurrentQueue<string>();
        gateway.Services.GetRequiredService<GatewayObserver>().Restarted += told.Enqueue;
        return told;
    }
}
