using System.Collections.Concurrent;
using LongLived.Contracts;
using LongLived.Gateway.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LongLived.Tests;

/// <summary>
/// A channel that fails to send to a gateway tells that gateway to fill from history, and no other: when a gateway
/// dies, each of its channels fails its sends for seconds, and telling every gateway made each of them rejoin its
/// topics once a second.
/// </summary>
public sealed class FailedSendTests
{
    // Only a notice can bring a missed message: no head check of its own for an hour.
    private static readonly string[] NoChecks = ["--Gateway:HeadCheckInterval=01:00:00", "--Gateway:QuietCheckInterval=01:00:00"];

    [Fact]
    public async Task Only_the_gateway_a_send_failed_to_is_told_and_it_fills_the_message_from_history()
    {
        // The silo delivers by observer; the second gateway listens on streams, so it refuses every delivery (and says why).
        var clusterId = $"failed-send-{Guid.NewGuid():N}";
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId={clusterId}", "--Orleans:Delivery=observer"],
            silo: ["--Generator:Interval=00:00:00"], gateway: NoChecks);
        var (port, adminPort) = (ClusterFixture.FreePort(), ClusterFixture.FreePort());
        await using var refusing = LongLived.Gateway.Program.Build(["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId={clusterId}",
            "--Orleans:Delivery=streams", $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPort}",
            $"--Orleans:GatewayPorts:0={cluster.SiloGatewayPort}", .. NoChecks]);
        await refusing.StartAsync();
        using var refusingChannel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{port}");

        var topic = TestStreams.NewId("failed-send");
        using var served = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("a"), topic));
        using var missed = new Longlived.LonglivedClient(refusingChannel).Subscribe(TestStreams.Subscribe(TestStreams.NewId("b"), topic));
        await served.ReadyAsync();
        await missed.ReadyAsync();
        await Task.Delay(1500); // the topic's new activation tells both gateways it started; those notices come first
        var servedTold = Told(cluster.Gateway);
        var missedTold = Told(refusing);

        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m1" });

        Assert.Equal("m1", Assert.Single(await served.ResponseStream.TakeAsync(1, topic, TimeSpan.FromSeconds(15))).Data);
        Assert.Equal("m1", Assert.Single(await missed.ResponseStream.TakeAsync(1, topic, TimeSpan.FromSeconds(15))).Data);
        await Task.Delay(1000); // a notice to every gateway would have reached the served one with the other's
        Assert.Contains(topic, missedTold);
        Assert.DoesNotContain(topic, servedTold);
    }

    /// <summary>The channels a silo tells the gateway to look at from now on (what it hears, not what it does).</summary>
    private static ConcurrentQueue<string> Told(WebApplication gateway)
    {
        var told = new ConcurrentQueue<string>();
        gateway.Services.GetRequiredService<GatewayObserver>().Restarted += told.Enqueue;
        return told;
    }
}
