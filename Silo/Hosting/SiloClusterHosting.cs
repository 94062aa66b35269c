using System.Net;
using LongLived.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace LongLived.Silo.Hosting;

public static class SiloClusterHosting
{
    /// <summary>
    /// How this silo joins its cluster (section "Orleans"). Embedded default: localhost clustering, nothing to install;
    /// with Orleans:Redis, the Redis membership table.
    /// </summary>
    public static WebApplicationBuilder AddSiloCluster(this WebApplicationBuilder builder)
    {
        var cluster = builder.Configuration.Read<OrleansClusterOptions>(OrleansClusterOptions.Section);
        var tls = builder.Configuration.Read<ClusterTlsOptions>(ClusterTlsOptions.Section);
        builder.UseOrleans(silo =>
        {
            if (string.IsNullOrWhiteSpace(cluster.Redis))
            {
                var primary = cluster.PrimarySiloPort > 0 ? new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort) : null;
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
            }
            else
            {
                silo.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
                silo.ConfigureEndpoints(Advertised(cluster.AdvertisedIP), cluster.SiloPort, cluster.GatewayPort, cluster.ListenOnAnyHostAddress);
                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis));
            }
            if (tls.LoadCertificate() is { } member) silo.UseTls(member, tls.Configure);
            if (cluster.KubernetesHosting) silo.UseKubernetesHosting();
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = cluster.ProbeTimeout;
                o.NumMissedProbesLimit = cluster.NumMissedProbesLimit;
            });
        });
        return builder;
    }

    /// <summary>An IP as given, or the first IPv4 address (else any) a host name resolves to.</summary>
    private static IPAddress Advertised(string address)
    {
        if (IPAddress.TryParse(address, out var ip)) return ip;
        var addresses = Dns.GetHostAddresses(address);
        return addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException($"Orleans:AdvertisedIP: \"{address}\" resolves to no address");
    }
}
