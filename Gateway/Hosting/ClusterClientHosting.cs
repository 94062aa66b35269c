using LongLived.Contracts.Grains;
using LongLived.Gateway.Cluster;
using LongLived.Hosting;
using LongLived.Streams.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace LongLived.Gateway.Hosting;

public static class ClusterClientHosting
{
    /// <summary>
    /// The Orleans client (section "Orleans", the type the silo reads too): localhost clustering on the silo gateways'
    /// ports, or the Redis membership table; cluster TLS; the delivery streams. And this gateway's identity in the
    /// cluster (<see cref="GatewayObserver"/>) and the connection state health reads.
    /// </summary>
    public static WebApplicationBuilder AddClusterClient(this WebApplicationBuilder builder)
    {
        var orleans = builder.Configuration.Read<OrleansClusterOptions>(OrleansClusterOptions.Section);
        var streams = builder.Configuration.ReadDeliveryStreams();
        var clusterTls = builder.Configuration.Read<ClusterTlsOptions>(ClusterTlsOptions.Section);
        var connection = new ClusterConnection();
        builder.Services.AddSingleton(connection);
        builder.Services.AddSingleton(streams);
        builder.Services.AddSingleton<GatewayObserver>();
        builder.UseOrleansClient(client =>
        {
            client.AddGatewayCountChangedHandler((_, e) => connection.OnGatewayCountChanged(e.NumberOfConnectedGateways));
            if (string.IsNullOrWhiteSpace(orleans.Redis))
            {
                client.UseLocalhostClustering(orleans.EffectiveGatewayPorts, orleans.ServiceId, orleans.ClusterId);
            }
            else
            {
                client.Configure<ClusterOptions>(o => { o.ClusterId = orleans.ClusterId; o.ServiceId = orleans.ServiceId; });
                client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(orleans.Redis));
                // Learn about new or dead silos quickly instead of once a minute (Orleans' GatewayOptions: the silo gateways).
                client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            }
            if (clusterTls.LoadCertificate() is { } member) client.UseTls(member, clusterTls.Configure);
            client.AddDeliveryStreams(DeliveryStreams.Provider, streams);
        });
        return builder;
    }
}
