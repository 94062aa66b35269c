using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;

namespace LongLived.Tests.Failover;

/// <summary>Redis stopped under a publisher: a clear UNAVAILABLE, and nothing the publisher was told failed shows up later.</summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task With_Redis_stopped_a_publish_is_UNAVAILABLE_and_never_stored_later()
    {
        await using var run = await DurableRun.StartAsync();
        var (redis, cluster) = (run.Redis, run.Cluster);
        var client = cluster.Client;
        var topic = TestStreams.NewId("stored");
        await client.PublishAsync(new PublishRequest { Channel = topic, Data = "before" });

        await redis.TerminateAsync(TimeSpan.FromSeconds(30));
        var failed = await Assert.ThrowsAsync<RpcException>(() =>
            client.PublishAsync(new PublishRequest { Channel = topic, Data = "not stored" }, deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, failed.StatusCode);
        Assert.Contains("retry with the same idempotency key", failed.Status.Detail);

        await run.RestartRedisAsync(); // same data directory: everything stored before the stop is back
        await PublishOnceRedisIsBackAsync(client, new PublishRequest { Channel = topic, Data = "after", IdempotencyKey = "after-1" });

        var history = await cluster.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>(topic).Read(0, null, 100);
        Assert.Equal(["before", "after"], history.Messages.Select(m => m.Data));
        Assert.Equal([1UL, 2UL], history.Messages.Select(m => m.Offset));
    }

    /// <summary>
    /// Issue 16.1: a failed write deactivates the channel grain, and the publisher's retry makes a new activation that
    /// knows no joins. The new activation tells the gateways, which join again at once: a live subscriber of a quiet topic
    /// (checked only by the 5-minute sweep otherwise) gets the retried message within seconds.
    /// </summary>
    [Fact]
    public async Task After_Redis_restarts_a_live_subscriber_of_a_quiet_topic_gets_the_retried_publish()
    {
        // Rounds of 1 s, so the topic is quiet (no news in two rounds) within seconds; the sweep stays at 5 minutes.
        await using var run = await DurableRun.StartAsync(gateway: ["--Gateway:HeadCheckInterval=00:00:01"]);
        var (redis, cluster) = (run.Redis, run.Cluster);
        var client = cluster.Client;
        var topic = TestStreams.NewId("quiet-topic");
        var id = TestStreams.NewId("listener");
        using var call = client.Subscribe(TestStreams.Subscribe(id, topic));
        await call.ResponseHeadersAsync;
        await client.PublishAsync(new PublishRequest { Channel = topic, Data = "before" });
        Assert.Equal("before", (await call.ResponseStream.TakeAsync(1, topic))[0].Data);
        await Task.Delay(TimeSpan.FromSeconds(4)); // quiet

        await redis.TerminateAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<RpcException>(() =>
            client.PublishAsync(new PublishRequest { Channel = topic, Data = "after", IdempotencyKey = "after-1" }, deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
        await run.RestartRedisAsync();
        await PublishOnceRedisIsBackAsync(client, new PublishRequest { Channel = topic, Data = "after", IdempotencyKey = "after-1" });

        // Seconds, not the sweep's 5 minutes (47 s and more than 60 s in the runs that found this).
        var received = await call.ResponseStream.TakeAsync(1, topic, TimeSpan.FromSeconds(15));
        Assert.Equal("after", received[0].Data);
        Assert.Equal(2UL, received[0].Offset);
    }

    /// <summary>Publishes, retrying UNAVAILABLE (with the request's idempotency key) while Redis reconnects, for up to a minute.</summary>
    private static async Task PublishOnceRedisIsBackAsync(Longlived.LonglivedClient client, PublishRequest request)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ;)
        {
            try
            {
                await client.PublishAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>A redis-server keeping its data on disk (AOF, fsync always) and a cluster on it with short Redis timeouts.</summary>
    private sealed class DurableRun(string dir, int port, NodeProcess redis, OwnCluster cluster) : IAsyncDisposable
    {
        public NodeProcess Redis => redis;
        public OwnCluster Cluster => cluster;

        public static async Task<DurableRun> StartAsync(string[]? gateway = null)
        {
            var dir = Directory.CreateTempSubdirectory("ll-redis-").FullName;
            var port = ClusterFixture.FreePort();
            var redis = NodeProcess.DurableRedis(port, dir);
            redis.Start();
            await NodeProcess.WaitForPortAsync(port, ProcessCluster.StartTimeout, redis);
            string[] common = [$"--Orleans:Redis=127.0.0.1:{port},connectTimeout=1000,asyncTimeout=2000,syncTimeout=2000",
                $"--Orleans:ClusterId=storage-{Guid.NewGuid():N}", "--Logging:LogLevel:Default=Critical", "--Logging:LogLevel:Orleans=Critical"];
            return new DurableRun(dir, port, redis, await OwnCluster.StartAsync(common, gateway: gateway));
        }

        /// <summary>Starts the stopped redis-server again on the same data directory.</summary>
        public async Task RestartRedisAsync()
        {
            redis.Start();
            await NodeProcess.WaitForPortAsync(port, ProcessCluster.StartTimeout, redis);
        }

        public async ValueTask DisposeAsync()
        {
            await cluster.DisposeAsync();
            await redis.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }
}
