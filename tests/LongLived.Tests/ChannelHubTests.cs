using Microsoft.Extensions.DependencyInjection;
using LongLived.Gateway.Sessions;
using LongLived.Gateway.Delivery;

namespace LongLived.Tests;

/// <summary>A channel join that fails (the cluster is away) must not leave a channel behind in the gateway's hub.</summary>
public sealed class ChannelHubTests
{
    [Fact]
    public async Task A_join_that_fails_leaves_no_channel_for_the_head_check_to_keep_alive()
    {
        var cluster = await OwnCluster.StartAsync(
            [$"--Orleans:ClusterId=hub-{Guid.NewGuid():N}", "--Logging:LogLevel:Default=Critical", "--Logging:LogLevel:Orleans=Critical"]);
        try
        {
            var hub = cluster.Gateway.Services.GetRequiredService<ChannelHub>();
            await using (await hub.JoinAsync("reachable", new SubscriberSession("c1", ["reachable"], 16), CancellationToken.None))
            {
                Assert.Single(hub.Channels);
            }
            Assert.Empty(hub.Channels);

            // The cluster goes away; a new join fails.
            await cluster.Silo.StopAsync();
            await Assert.ThrowsAnyAsync<Exception>(() =>
                hub.JoinAsync("during-blip", new SubscriberSession("c2", ["during-blip"], 16), CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2)));

            Assert.DoesNotContain(hub.Channels, c => c.Name == "during-blip");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
