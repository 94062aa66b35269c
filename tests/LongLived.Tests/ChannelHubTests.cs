using LongLived.Gateway;
using LongLived.Gateway.Relay;
using LongLived.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LongLived.Tests;

/// <summary>A channel join that fails (the cluster is away) must not leave a channel behind in the gateway's hub.</summary>
public sealed class ChannelHubTests
{
    [Fact]
    public async Task A_join_that_fails_leaves_no_channel_for_the_head_check_to_keep_alive()
    {
        var clusterId = $"hub-{Guid.NewGuid():N}";
        var siloGatewayPort = ClusterFixture.FreePort();
        string[] common = [$"--Orleans:ClusterId={clusterId}", "--Logging:LogLevel:Default=Critical", "--Logging:LogLevel:Orleans=Critical"];
        var siloBuilder = WebApplication.CreateBuilder([.. common, $"--Orleans:SiloPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPort={siloGatewayPort}", "--Silo:HttpPort=0"]);
        siloBuilder.AddLongLivedSilo();
        var silo = siloBuilder.Build();
        await silo.StartAsync();
        var gateway = GatewaySetup.Build([.. common, $"--Gateway:Port={ClusterFixture.FreePort()}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPorts:0={siloGatewayPort}"]);
        await gateway.StartAsync();
        try
        {
            var hub = gateway.Services.GetRequiredService<ChannelHub>();
            await using (await hub.JoinAsync("reachable", new SubscriberSession("c1", ["reachable"], 16), CancellationToken.None))
            {
                Assert.Single(hub.Channels);
            }
            Assert.Empty(hub.Channels);

            // The cluster goes away; a new join fails.
            await silo.StopAsync();
            await Assert.ThrowsAnyAsync<Exception>(() =>
                hub.JoinAsync("during-blip", new SubscriberSession("c2", ["during-blip"], 16), CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2)));

            Assert.DoesNotContain(hub.Channels, c => c.Name == "during-blip");
        }
        finally
        {
            await gateway.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
            await gateway.DisposeAsync();
            await silo.DisposeAsync();
        }
    }
}
