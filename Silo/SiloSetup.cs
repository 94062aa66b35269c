using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using System.Net;
using Orleans.Configuration;
using StackExchange.Redis;

namespace LongLived.Silo;

/// <summary>Everything that makes a LongLived silo, shared by Program and the tests.</summary>
public static class SiloSetup
{
    /// <summary>
    /// Embedded default: localhost clustering, in-memory grain storage and in-memory streams (nothing to install).
    /// </summary>
    public static IHostApplicationBuilder AddLongLivedSilo(this IHostApplicationBuilder builder)
    {
        var cluster = builder.Configuration.GetSection(SiloClusterOptions.Section).Get<SiloClusterOptions>() ?? new();
        builder.Services.Configure<GeneratorOptions>(builder.Configuration.GetSection(GeneratorOptions.Section));
        builder.Services.Configure<HistoryOptions>(builder.Configuration.GetSection(HistoryOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);

        builder.UseOrleans(silo =>
        {
            if (string.IsNullOrWhiteSpace(cluster.Redis)) UseEmbedded(silo, cluster);
            else UseRedis(silo, cluster, cluster.Redis);
            silo.AddMemoryStreams(StreamNames.Provider, streams =>
            {
                streams.ConfigurePartitioning(cluster.StreamQueues);
                streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = cluster.StreamPollPeriod));
            });
        });
        return builder;
    }

    private static void UseEmbedded(ISiloBuilder silo, SiloClusterOptions cluster)
    {
        var primary = cluster.PrimarySiloPort > 0 ? new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort) : null;
        silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
        foreach (var name in Storages) silo.AddMemoryGrainStorage(name);
    }

    private static void UseRedis(ISiloBuilder silo, SiloClusterOptions cluster, string redis)
    {
        silo.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
        silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedIP), cluster.SiloPort, cluster.GatewayPort, cluster.ListenOnAnyHostAddress);
        silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        foreach (var name in Storages) silo.AddRedisGrainStorage(name, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = cluster.ProbeTimeout;
            o.NumMissedProbesLimit = cluster.NumMissedProbesLimit;
        });
    }

    /// <summary>Channel state, client state, and the stream pub-sub store (durable with Redis: it must survive a silo).</summary>
    private static readonly string[] Storages = [StreamNames.ChannelStorage, StreamNames.ClientStorage, StreamNames.PubSubStore];
}
