using LongLived.Contracts.Grains;
using LongLived.Hosting;
using LongLived.Silo.Grains;
using LongLived.Silo.History;
using LongLived.Silo.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace LongLived.Silo.Hosting;

public static class ChannelStorageHosting
{
    /// <summary>
    /// Grain storage (channel and client state, the gateway directory, the stream pub-sub store) and the channels' logs:
    /// in memory embedded; with Orleans:Redis, Redis hashes, and each channel's history a Redis stream.
    /// </summary>
    public static WebApplicationBuilder AddChannelStorage(this WebApplicationBuilder builder)
    {
        var redis = builder.Configuration.Read<OrleansClusterOptions>(OrleansClusterOptions.Section).Redis;
        builder.Services.Configure<HistoryOptions>(builder.Configuration.GetSection(HistoryOptions.Section));
        builder.Services.AddSingleton<ChannelLogs>();
        builder.Services.AddSingleton<StateAtShutdown>();
        if (!string.IsNullOrWhiteSpace(redis))
        {
            // Channel histories are Redis streams, written through this connection (grain state holds the rest).
            var options = ConfigurationOptions.Parse(redis);
            options.AbortOnConnectFail = false;
            builder.Services.AddSingleton(new RedisConnection(options));
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services => services.GetRequiredService<RedisConnection>());
            builder.Services.AddSingleton(services => services.GetRequiredService<RedisConnection>().Multiplexer);
        }
        builder.UseOrleans(silo =>
        {
            foreach (var name in Storages)
            {
                if (string.IsNullOrWhiteSpace(redis))
                {
                    // Orleans' binary serializer, not the default Newtonsoft JSON: a new client's state is written soon after
                    // its first Subscribe, and JSON was an eighth of the silo's CPU while 10,000 streams opened. Memory
                    // storage ends with the process, so no stored format has to stay readable.
                    silo.AddMemoryGrainStorage(name);
                    silo.Services.AddOptions<MemoryGrainStorageOptions>(name)
                        .Configure<Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
                }
                // A cleared state leaves no key (the pub-sub store clears a stream's record when its last subscription goes).
                else silo.AddRedisGrainStorage(name, o => { o.ConfigurationOptions = ConfigurationOptions.Parse(redis); o.DeleteStateOnClear = true; });
            }
        });
        return builder;
    }

    private static readonly string[] Storages = [StorageNames.Channels, StorageNames.Clients, StorageNames.PubSubStore];
}
