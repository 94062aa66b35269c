using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Streams;
using StackExchange.Redis;
using LongLived.Gateway.Cluster;
using LongLived.Gateway.Delivery;

namespace LongLived.Tests.Failover;

/// <summary>
/// Issue 16.5: a gateway killed with SIGKILL leaves its delivery streams' subscriptions in the pub-sub store (Redis),
/// and Orleans removes a dead client's subscription only when an event to it fails; channels stop sending to a gateway
/// that stopped renewing its joins, so nothing ever would. The gateway directory forgets a gateway whose registration
/// ran out, and removes those subscriptions. Here the dead gateway is made by hand, as a killed one leaves it: a
/// subscription on its stream and a registration nobody renews. A live gateway that could not renew for a whole lease
/// is forgotten the same way, and must subscribe again when it renews.
/// </summary>
public sealed class GatewayDirectoryTests
{
    [Fact]
    public async Task A_gateway_that_stopped_renewing_leaves_no_subscription_in_the_pub_sub_store_and_one_that_renews_again_subscribes_again()
    {
        await using var run = await RedisRun.StartAsync([]);
        var (cluster, server) = (run.Cluster, run.Server);

        var orleans = cluster.Gateway.Services.GetRequiredService<IClusterClient>();
        var dead = new GatewayRoute($"killed-{Guid.NewGuid():N}", 2);
        var streams = Enumerable.Range(0, dead.Shards).Select(shard => orleans.GetStreamProvider(DeliveryStreams.Provider)
            .GetStream<DeliveryBatch>(StreamId.Create(DeliveryStreams.GatewayNamespace, DeliveryStreams.ShardKey(dead.GatewayId, (uint)shard)))).ToArray();
        foreach (var stream in streams) await stream.SubscribeAsync((_, _) => Task.CompletedTask);
        var keysBefore = server.Keys(pattern: "*").Select(k => (string)k!).ToHashSet();
        var stored = keysBefore.Where(k => k.Contains(dead.GatewayId, StringComparison.Ordinal)).ToArray();
        Assert.Equal(dead.Shards, stored.Length); // one pub-sub record per stream, in Redis

        var registry = cluster.Gateway.Services.GetRequiredService<GatewayObserver>();
        await orleans.GetGrain<IGatewayDirectory>(0).Register(dead, registry.Reference, TimeSpan.FromSeconds(1));
        var hub = cluster.Gateway.Services.GetRequiredService<ChannelHub>();
        // The live gateway stops renewing (its head check, which renews, stopped) and its registration is cut short.
        await cluster.Gateway.Services.GetServices<IHostedService>().OfType<HeadCheckService>().Single().StopAsync(CancellationToken.None);
        await orleans.GetGrain<IGatewayDirectory>(0).Register(hub.Route, registry.Reference, TimeSpan.FromSeconds(1)); // as if it could not renew

        var own = Enumerable.Range(0, hub.Route.Shards).Select(shard => orleans.GetStreamProvider(DeliveryStreams.Provider)
            .GetStream<DeliveryBatch>(StreamId.Create(DeliveryStreams.GatewayNamespace, DeliveryStreams.ShardKey(hub.Route.GatewayId, (uint)shard)))).ToArray();

        // The directory sweeps every 30 s, one forgotten gateway after the other: wait for both.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(75);
        while (DateTime.UtcNow < deadline && (server.Keys(pattern: "*").Any(k => ((string)k!).Contains(dead.GatewayId, StringComparison.Ordinal))
            || await AnySubscribedAsync(own)))
        {
            await Task.Delay(500);
        }
        var left = server.Keys(pattern: "*").Select(k => (string)k!).Where(k => k.Contains(dead.GatewayId, StringComparison.Ordinal)).ToArray();
        Assert.True(left.Length == 0, $"still in Redis: {string.Join(", ", left)}");
        foreach (var stream in streams) Assert.Empty(await stream.GetAllSubscriptionHandles());
        foreach (var stream in own) Assert.Empty(await stream.GetAllSubscriptionHandles()); // forgotten with the dead one

        Assert.True(await hub.RegisterAsync()); // it renews: told it was forgotten, it subscribes again (and joins every channel again)
        foreach (var stream in own) Assert.Single(await stream.GetAllSubscriptionHandles());
    }

    private static async Task<bool> AnySubscribedAsync(IEnumerable<IAsyncStream<DeliveryBatch>> streams)
    {
        foreach (var stream in streams)
        {
            if ((await stream.GetAllSubscriptionHandles()).Count > 0) return true;
        }
        return false;
    }
}
