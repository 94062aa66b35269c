using LongLived.Contracts.Grains;
using System.Net;
using LongLived.Gateway.Admin;
using OpenTelemetry.Metrics;
using LongLived.Channelz;
using LongLived.Gateway.Options;
using LongLived.Gateway.Relay;
using LongLived.Gateway.Security;
using LongLived.Gateway.Services;
using LongLived.Streams;
using LongLived.Streams.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Orleans.Configuration;
using StackExchange.Redis;
using GatewayOptions = LongLived.Gateway.Options.GatewayOptions;

namespace LongLived.Gateway;

/// <summary>Everything that makes a gateway, shared by Program and the tests.</summary>
public static class GatewaySetup
{
    public static WebApplication Build(string[] args)
    {
        // Content root = the binary's folder, so appsettings.json is found whatever the working directory.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new();
        var orleans = builder.Configuration.GetSection(OrleansClientOptions.Section).Get<OrleansClientOptions>() ?? new();
        var streams = builder.Configuration.ReadDeliveryStreams();
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new();
        var clusterTls = builder.Configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new();
        var tls = builder.Configuration.GetSection(TlsOptions.Section).Get<TlsOptions>() ?? new();
        var certificate = tls.LoadCertificate();
        builder.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.Section));
        builder.Services.Configure<LimitOptions>(builder.Configuration.GetSection(LimitOptions.Section));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = gateway.DrainTimeout + TimeSpan.FromSeconds(5));

        var channelzOn = EnvSwitch.IsOn(builder.Configuration["GRPC_CHANNELZ"]);
        var channelz = new ChannelzRegistry();
        // One channelz server per gRPC listener, with its listen sockets as Kestrel binds them.
        var grpcServer = channelz.AddServer($"grpc:{gateway.Port}", gateway.ListenAnyIP
            ? [new IPEndPoint(IPAddress.IPv6Any, gateway.Port)]
            : [new IPEndPoint(IPAddress.Loopback, gateway.Port), new IPEndPoint(IPAddress.IPv6Loopback, gateway.Port)]);
        builder.Services.AddSingleton(channelz);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // h2c with prior knowledge (what grpcurl -plaintext and every gRPC client speak in cleartext), or HTTP/2 over TLS
            // (ALPN h2) with a configured certificate.
            void Grpc(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null) listen.UseHttps(certificate);
                if (channelzOn) listen.Use(ChannelzHooks.Connections(channelz, grpcServer));
            }
            void Admin(ListenOptions listen)
            {
                // HTTP/2 only where ALPN can offer it: on cleartext, Kestrel would warn at every start that it cannot.
                var https = certificate is not null && tls.AdminPort;
                listen.Protocols = https ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                if (https) listen.UseHttps(certificate!);
            }
            if (gateway.ListenAnyIP)
            {
                kestrel.ListenAnyIP(gateway.Port, Grpc);
                kestrel.ListenAnyIP(gateway.EffectiveAdminPort, Admin);
            }
            else
            {
                kestrel.ListenLocalhost(gateway.Port, Grpc);
                kestrel.ListenLocalhost(gateway.EffectiveAdminPort, Admin);
            }
            KestrelLimits.Apply(kestrel.Limits, builder.Configuration.GetSection("Kestrel:Limits"), gateway);
        });

        var connection = new ClusterConnection();
        builder.Services.AddSingleton(connection);
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
                // Learn about new or dead silos quickly instead of once a minute.
                client.Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            }
            if (clusterTls.LoadCertificate() is { } member) client.UseTls(member, clusterTls.Configure);
            client.AddDeliveryStreams(DeliveryStreams.Provider, streams);
        });

        builder.Logging.AddInvalidAuthorityLog();
        builder.Services.AddSingleton<DrainSignal>();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(GatewayMetrics.MeterName, StreamMetrics.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            // Orleans records every message's size in histograms: a bucket lookup per message, for figures nobody reads.
            .AddView("orleans-messaging-*-size", MetricStreamConfiguration.Drop)
            .AddPrometheusExporter());
        builder.Services.AddSingleton<ChannelHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChannelHub>()); // subscribes to its delivery streams
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<SessionRelay>();
        builder.Services.AddSingleton<ErrorMappingInterceptor>();
        builder.Services.AddHostedService<HeadCheckService>();
        builder.Services.AddHostedService<ClusterLossWatch>();
        builder.Services.AddSingleton<ChannelzInterceptor>();
        builder.Services.AddBearerTokens(auth);
        builder.Services.AddSingleton<CallLimits>();
        builder.Services.AddGrpc(o =>
        {
            // A Publish is its payload plus a channel name and an idempotency key; nothing needs gRPC's 4 MB default.
            o.MaxReceiveMessageSize = gateway.MaxPublishBytes + 16 * 1024;
            if (channelzOn) o.Interceptors.Add<ChannelzInterceptor>(); // outermost: counts what really goes over the wire
            o.Interceptors.Add<ErrorMappingInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(Contracts.Longlived.Descriptor.FullName, _ => true))
            .AddCheck<GatewayHealthCheck>("gateway");
        var reflection = EnvSwitch.IsOn(builder.Configuration["GRPC_REFLECTION"]);
        if (reflection) builder.Services.AddGrpcReflection();

        var app = builder.Build();
        app.Services.GetRequiredService<DrainSignal>(); // hook ApplicationStopping now, not at the first call
        if (channelzOn) app.Use(ChannelzHooks.Calls(grpcServer));
        app.MapGrpcService<LonglivedService>();
        if (channelzOn) app.MapGrpcService<ChannelzService>();
        app.MapGrpcHealthChecksService();
        app.MapAdmin(gateway);
        if (reflection) app.MapGrpcReflectionService();
        app.Logger.LogInformation("Gateway {GatewayId} serving gRPC ({Transport}) on port {Port}, admin on {AdminPort}; auth {Auth}, at most {MaxStreams} streams (reflection {Reflection}, channelz {Channelz})",
            app.Services.GetRequiredService<SessionRegistry>().GatewayId, certificate is null ? "h2c" : "TLS", gateway.Port, gateway.EffectiveAdminPort,
            auth.Enabled ? "on" : "off", app.Services.GetRequiredService<CallLimits>().MaxStreams, reflection ? "on" : "off", channelzOn ? "on" : "off");
        if (!auth.Enabled && gateway.ListenAnyIP)
        {
            app.Logger.LogWarning("Auth is off and the gateway listens on every interface: anyone who reaches port {Port} may subscribe as any client id and publish to any topic (set {Section}:SigningKey or :Authority)", gateway.Port, AuthOptions.Section);
        }
        return app;
    }
}
