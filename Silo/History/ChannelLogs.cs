using LongLived.Silo.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LongLived.Silo.History;

/// <summary>Picks each channel's log: a Redis stream when the silo runs with Redis, else its grain state.</summary>
public sealed class ChannelLogs(IOptions<HistoryOptions> history, IConnectionMultiplexer? redis = null)
{
    public IChannelLog For(string channel, IPersistentState<ChannelState> state) =>
        redis is null ? new GrainStateLog(state, channel) : new RedisStreamLog(redis.GetDatabase(), channel, history.Value);
}
