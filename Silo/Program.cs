using LongLived.Hosting;
using LongLived.Silo.Hosting;

namespace LongLived.Silo;

/// <summary>The silo: channel and client grains, which own all state.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => LongLivedHost.RunAsync(args, Build);

    /// <summary>The whole silo, as the tests start it too.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = LongLivedHost.CreateBuilder(args);
        builder.AddSiloCluster();     // membership (localhost, or Redis), endpoints, cluster TLS, Kubernetes
        builder.AddChannelStorage();  // grain storage and channel logs: in memory, or Redis
        builder.AddChannelGrains();   // what the grains use: history, generator, client settings, delivery streams
        builder.AddSiloOperations();  // metrics, health, the Orleans dashboard
        var app = builder.Build();
        app.MapSiloEndpoints();       // the operators' HTTP port
        return app;
    }
}
