using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;
using LongLived.Silo.Operations;
using LongLived.Silo.Options;
using LongLived.Streams;
using LongLived.Streams.Hosting;

namespace LongLived.Silo.Hosting;

public static class ChannelGrainsHosting
{
    /// <summary>What channel and client grains use besides storage: their settings, restart notices, the delivery streams.</summary>
    public static WebApplicationBuilder AddChannelGrains(this WebApplicationBuilder builder)
    {
        var streams = builder.Configuration.ReadDeliveryStreams();
        builder.Services.Configure<GeneratorOptions>(builder.Configuration.GetSection(GeneratorOptions.Section));
        builder.Services.Configure<ClientOptions>(builder.Configuration.GetSection(ClientOptions.Section));
        builder.Services.AddSingleton(streams);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SiloMetrics>();
        builder.Services.AddSingleton<GatewayNotices>();
        builder.Services.AddSingleton<DeliveryQueues>();
        builder.Services.AddSingleton<SharedGateways>();
        builder.Services.AddSingleton<LiveGateways>();
        builder.Services.AddSingleton<GeneratorClock>();
        builder.Services.AddSingleton<IStreamMissListener, DeliveryMisses>();
        builder.Services.AddHostedService(services => services.GetRequiredService<LiveGateways>());
        builder.Services.AddHostedService(services => services.GetRequiredService<GeneratorClock>());
        builder.UseOrleans(silo => silo.AddDeliveryStreams(DeliveryStreams.Provider, streams));
        return builder;
    }
}
