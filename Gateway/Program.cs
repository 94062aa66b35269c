using LongLived.Gateway.Hosting;
using LongLived.Hosting;

namespace LongLived.Gateway;

/// <summary>The stateless gRPC gateway: an Orleans client relaying channels to long-lived Subscribe calls.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => LongLivedHost.RunAsync(args, Build);

    /// <summary>The whole gateway, as the tests start it too.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = LongLivedHost.CreateBuilder(args);
        builder.AddGatewayListeners();  // Kestrel: the gRPC port (h2c or TLS) and the admin port, with channelz's sockets
        builder.AddClusterClient();     // the Orleans client: clustering, cluster TLS, delivery streams
        builder.AddGatewayOperations(); // drain, metrics, logs
        builder.AddGatewaySecurity();   // bearer tokens, quotas
        builder.AddDelivery();          // joins and delivery streams (ChannelHub), head checks
        builder.AddSessions();          // sessions, their life at the client grain, their relay
        builder.AddGatewayApi();        // gRPC: the Longlived service, health, reflection, channelz
        var app = builder.Build();
        app.MapGateway();               // the services on the gRPC port, operator endpoints on the admin port
        return app;
    }
}
