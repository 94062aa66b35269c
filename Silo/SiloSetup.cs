using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;
using LongLived.Silo.History;
using LongLived.Silo.Options;
using LongLived.Streams;
using LongLived.Streams.Hosting;
using System.Net;
using Orleans.Configuration;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;
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
        var streams = builder.Configuration.ReadDeliveryStreams();
        builder.Services.Configure<GeneratorOptions>(builder.Configuration.GetSection(GeneratorOptions.Section));
        builder.Services.Configure<HistoryOptions>(builder.Configuration.GetSection(HistoryOptions.Section));
        builder.Services.Configure<ClientOptions>(builder.Configuration.GetSection(ClientOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SiloMetrics>();
        builder.Services.AddSingleton<ChannelLogs>();
        builder.Services.AddSingleton<StateAtShutdown>();
        builder.Services.AddSingleton<ChannelRestarts>();
        if (!string.IsNullOrWhiteSpace(cluster.Redis))
        {
            // Channel histories are Redis streams, written through this connection (grain state holds the rest).
            var redis = ConfigurationOptions.Parse(cluster.Redis);
            redis.AbortOnConnectFail = false;
            builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis));
        }
        var http = builder.Configuration.GetSection(SiloHttpOptions.Section).Get<SiloHttpOptions>() ?? new();
        var tls = builder.Configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new();
        builder.Services.AddHealthChecks().AddCheck<SiloHealthCheck>("membership");
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(SiloMetrics.MeterName, StreamMetrics.MeterName, "Microsoft.Orleans", "System.Runtime")
            // Orleans records every message's size in histograms: a bucket lookup per message, for figures nobody reads.
            .AddView("orleans-messaging-*-size", MetricStreamConfiguration.Drop)
            .AddPrometheusExporter());

        builder.UseOrleans(silo =>
        {
            if (string.IsNullOrWhiteSpace(cluster.Redis)) UseEmbedded(silo, cluster);
            else UseRedis(silo, cluster, cluster.Redis);
            if (tls.LoadCertificate() is { } member) silo.UseTls(member, tls.Configure);
            if (cluster.KubernetesHosting) silo.UseKubernetesHosting();
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = cluster.ProbeTimeout;
                o.NumMissedProbesLimit = cluster.NumMissedProbesLimit;
            });
            if (http.HttpPort > 0 && http.Dashboard) silo.AddDashboard();
            silo.AddDeliveryStreams(DeliveryStreams.Provider, streams);
        });
        return builder;
    }

    /// <summary>The operators' HTTP port: /healthz, /metrics and the Orleans dashboard at /dashboard.</summary>
    public static WebApplication MapSiloEndpoints(this WebApplication app)
    {
        var http = app.Configuration.GetSection(SiloHttpOptions.Section).Get<SiloHttpOptions>() ?? new();
        if (http.HttpPort <= 0)
        {
            // Kestrel still starts: without a URL it would take http://localhost:5000, which another process may hold.
            app.Urls.Add("http://127.0.0.1:0");
            return app;
        }
        if (http.ListenAnyIP) app.Urls.Add($"http://*:{http.HttpPort}");
        else app.Urls.Add($"http://localhost:{http.HttpPort}");
        app.UseAdminAccess(http.AdminToken, "Silo:AdminToken", _ => true);
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (http.Dashboard) app.MapOrleansDashboard("/dashboard");
        return app;
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
        silo.ConfigureEndpoints(Advertised(cluster.AdvertisedIP), cluster.SiloPort, cluster.GatewayPort, cluster.ListenOnAnyHostAddress);
        silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        // A cleared state leaves no key (the pub-sub store clears a stream's record when its last subscription goes).
        foreach (var name in Storages) silo.AddRedisGrainStorage(name, o => { o.ConfigurationOptions = ConfigurationOptions.Parse(redis); o.DeleteStateOnClear = true; });
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

    /// <summary>Channel state (embedded mode only), client state, and the stream pub-sub store (durable with Redis: it must survive a silo).</summary>
    private static readonly string[] Storages = [StorageNames.Channels, StorageNames.Clients, StorageNames.PubSubStore];
}
