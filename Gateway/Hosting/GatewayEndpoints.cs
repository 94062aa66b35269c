using LongLived.Channelz;
using LongLived.Gateway.Admin;
using LongLived.Gateway.Cluster;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Options;
using LongLived.Gateway.Security;
using LongLived.Gateway.Services;
using LongLived.Hosting;

namespace LongLived.Gateway.Hosting;

public static class GatewayEndpoints
{
    /// <summary>The gRPC services on the gRPC port, the operator endpoints on the admin port; says at start what it serves.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        var gateway = app.Configuration.Read<GatewayOptions>(GatewayOptions.Section);
        var auth = app.Configuration.Read<AuthOptions>(AuthOptions.Section);
        var listeners = app.Services.GetRequiredService<GatewayListeners>();
        var reflection = EnvSwitch.IsOn(app.Configuration["GRPC_REFLECTION"]);
        app.Services.GetRequiredService<DrainSignal>(); // hook ApplicationStopping now, not at the first call
        if (listeners.Channelz) app.Use(ChannelzHooks.Calls(listeners.GrpcServer));
        app.MapGrpcService<LonglivedService>();
        if (listeners.Channelz) app.MapGrpcService<ChannelzService>();
        app.MapGrpcHealthChecksService();
        app.MapAdmin(gateway);
        if (reflection) app.MapGrpcReflectionService();

        app.Logger.LogInformation("Gateway {GatewayId} serving gRPC ({Transport}) on port {Port}, admin on {AdminPort}; auth {Auth}, at most {MaxStreams} streams (reflection {Reflection}, channelz {Channelz})",
            app.Services.GetRequiredService<GatewayObserver>().GatewayId, listeners.Tls ? "TLS" : "h2c", gateway.Port, gateway.EffectiveAdminPort,
            auth.Enabled ? "on" : "off", app.Services.GetRequiredService<CallLimits>().MaxStreams, reflection ? "on" : "off", listeners.Channelz ? "on" : "off");
        if (!auth.Enabled && gateway.ListenAnyIP)
        {
            app.Logger.LogWarning("Auth is off and the gateway listens on every interface: anyone who reaches port {Port} may subscribe as any client id and publish to any topic (set {Section}:SigningKey or :Authority)", gateway.Port, AuthOptions.Section);
        }
        return app;
    }
}
