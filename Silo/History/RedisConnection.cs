using StackExchange.Redis;

namespace LongLived.Silo.History;

/// <summary>
/// The silo's connection for channel histories (Redis streams), made with <c>ConnectAsync</c> while the silo starts,
/// before any grain can activate. A synchronous <c>Connect</c> at the first activation held a thread-pool worker for the
/// whole handshake, whose own socket completions need a worker: with <c>Runtime:WorkerThreads=1</c> the silo stalled
/// until the connect timed out.
/// </summary>
public sealed class RedisConnection(ConfigurationOptions options) : ILifecycleParticipant<ISiloLifecycle>
{
    private IConnectionMultiplexer? _multiplexer;

    public IConnectionMultiplexer Multiplexer =>
        _multiplexer ?? throw new InvalidOperationException("the Redis connection for channel histories is made while the silo starts, and was asked for before");

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RedisConnection), ServiceLifecycleStage.RuntimeInitialize,
            async _ => _multiplexer = await ConnectionMultiplexer.ConnectAsync(options),
            _ => Task.CompletedTask); // closed with the service provider, after the grains' last writes
}
