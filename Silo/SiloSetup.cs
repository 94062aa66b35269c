using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using Orleans.Configuration;

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
            var primary = cluster.PrimarySiloPort > 0 ? new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, cluster.PrimarySiloPort) : null;
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
            silo.AddMemoryGrainStorage(StreamNames.ChannelStorage);
            silo.AddMemoryGrainStorage(StreamNames.ClientStorage);
            silo.AddMemoryGrainStorage(StreamNames.PubSubStore);
            silo.AddMemoryStreams(StreamNames.Provider, streams =>
            {
                streams.ConfigurePartitioning(cluster.StreamQueues);
                streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = cluster.StreamPollPeriod));
            });
        });
        return builder;
    }
}
