using System.Net;
using LongLived.Channelz;
using LongLived.Gateway.Options;
using LongLived.Gateway.Security;
using LongLived.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LongLived.Gateway.Hosting;

/// <summary>What the listeners were set up with, for the endpoints and the start log.</summary>
public sealed record GatewayListeners(ChannelzServer GrpcServer, bool Tls, bool Channelz);

public static class GatewayListenersHosting
{
    /// <summary>
    /// Kestrel: the public gRPC port (h2c with prior knowledge, what grpcurl -plaintext and every gRPC client speak in
    /// cleartext, or HTTP/2 over TLS with Gateway:Tls) and the admin port; and the channelz registry, which sees the
    /// gRPC port's connections.
    /// </summary>
    public static WebApplicationBuilder AddGatewayListeners(this WebApplicationBuilder builder)
    {
        var gateway = builder.Configuration.Read<GatewayOptions>(GatewayOptions.Section);
        var tls = builder.Configuration.Read<TlsOptions>(TlsOptions.Section);
        var certificate = tls.LoadCertificate();
        builder.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = gateway.DrainTimeout + TimeSpan.FromSeconds(5));

        var channelzOn = EnvSwitch.IsOn(builder.Configuration["GRPC_CHANNELZ"]);
        var channelz = new ChannelzRegistry();
        // One channelz server per gRPC listener, with its listen sockets as Kestrel binds them.
        var grpcServer = channelz.AddServer($"grpc:{gateway.Port}", gateway.ListenAnyIP
            ? [new IPEndPoint(IPAddress.IPv6Any, gateway.Port)]
            : [new IPEndPoint(IPAddress.Loopback, gateway.Port), new IPEndPoint(IPAddress.IPv6Loopback, gateway.Port)]);
        builder.Services.AddSingleton(channelz);
        builder.Services.AddSingleton(new GatewayListeners(grpcServer, certificate is not null, channelzOn));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
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
        return builder;
    }
}
