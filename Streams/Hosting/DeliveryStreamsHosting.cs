using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace LongLived.Streams.Hosting;

/// <summary>Registers the delivery streams' provider on a silo or a client, from section "Orleans".</summary>
public static class DeliveryStreamsHosting
{
    public static DeliveryStreamOptions ReadDeliveryStreams(this IConfiguration configuration) =>
        (configuration.GetSection(DeliveryStreamOptions.Section).Get<DeliveryStreamOptions>() ?? new()).Validated();

    public static ISiloBuilder AddDeliveryStreams(this ISiloBuilder silo, string name, DeliveryStreamOptions options)
    {
        if (!options.IsEventDriven)
        {
            return silo.AddMemoryStreams(name, streams =>
            {
                streams.ConfigurePartitioning(options.StreamQueues);
                streams.ConfigurePullingAgent(agent => agent.Configure(o => Agent(o, options)));
                streams.ConfigureCacheEviction(eviction => eviction.Configure(o =>
                {
                    o.DataMaxAgeInCache = options.StreamCacheAge;
                    o.DataMinTimeInCache = options.StreamCacheAge / 2;
                }));
            });
        }
        Queues(silo.Services, name, options);
        return silo.AddPersistentStreams(name, EventQueueAdapterFactory.Create,
            streams => streams.ConfigurePullingAgent(agent => agent.Configure(o => Agent(o, options))));
    }

    public static IClientBuilder AddDeliveryStreams(this IClientBuilder client, string name, DeliveryStreamOptions options)
    {
        if (!options.IsEventDriven) return client.AddMemoryStreams(name, streams => streams.ConfigurePartitioning(options.StreamQueues));
        Queues(client.Services, name, options);
        return client.AddPersistentStreams(name, EventQueueAdapterFactory.Create, null);
    }

    private static void Agent(StreamPullingAgentOptions agent, DeliveryStreamOptions options)
    {
        agent.GetQueueMsgsTimerPeriod = options.StreamPollPeriod;
        agent.BatchContainerBatchSize = Math.Max(options.StreamBatchSize, 1);
    }

    private static void Queues(IServiceCollection services, string name, DeliveryStreamOptions options)
    {
        StreamMetrics.Start();
        services.Configure<EventQueueOptions>(name, o =>
        {
            o.Queues = options.StreamQueues;
            o.ReadWait = options.StreamReadWait;
            o.QueueCapacity = options.StreamQueueCapacity;
            o.CacheCapacity = options.StreamCacheCapacity;
        });
    }
}
