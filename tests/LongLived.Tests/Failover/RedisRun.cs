using StackExchange.Redis;

namespace LongLived.Tests.Failover;

/// <summary>A throw-away redis-server and an in-process silo and gateway on it, with a connection to look inside Redis.</summary>
public sealed class RedisRun(NodeProcess redis, OwnCluster cluster, ConnectionMultiplexer connection, int port) : IAsyncDisposable
{
    public OwnCluster Cluster => cluster;
    public IDatabase Db => connection.GetDatabase();
    public IServer Server => connection.GetServer($"127.0.0.1:{port}");

    public static async Task<RedisRun> StartAsync(string[] common, string[]? gateway = null)
    {
        var port = ClusterFixture.FreePort();
        var redis = NodeProcess.Redis(port);
        redis.Start();
        await NodeProcess.WaitForPortAsync(port, ProcessCluster.StartTimeout, redis);
        var cluster = await OwnCluster.StartAsync([$"--Orleans:Redis=127.0.0.1:{port}", $"--Orleans:ClusterId=redis-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Critical", .. common], gateway: gateway);
        return new RedisRun(redis, cluster, await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"), port);
    }

    public async ValueTask DisposeAsync()
    {
        await connection.DisposeAsync();
        await cluster.DisposeAsync();
        await redis.DisposeAsync();
    }
}
