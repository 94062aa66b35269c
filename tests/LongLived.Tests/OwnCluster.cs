using LongLived.Contracts;
using Microsoft.AspNetCore.Builder;

namespace LongLived.Tests;

/// <summary>
/// A silo and a gateway of a test's own, started in this process with the production hosts (each one's Program.Build):
/// for tests that need settings the shared fixture cannot have (Redis, intervals, a silo stopped).
/// </summary>
public sealed class OwnCluster : IAsyncDisposable
{
    private OwnCluster(WebApplication silo, WebApplication gateway, int port, int adminPort, int siloGatewayPort)
    {
        SiloGatewayPort = siloGatewayPort;
        Silo = silo;
        Gateway = gateway;
        Port = port;
        AdminPort = adminPort;
        Channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Client = new Longlived.LonglivedClient(Channel);
    }

    public WebApplication Silo { get; }
    public WebApplication Gateway { get; }
    public int Port { get; }
    public int AdminPort { get; }
    /// <summary>Where Orleans clients (gateways) connect to the silo.</summary>
    public int SiloGatewayPort { get; }
    public Grpc.Net.Client.GrpcChannel Channel { get; }
    public Longlived.LonglivedClient Client { get; }

    /// <summary><paramref name="common"/> goes to both hosts, then each gets its ports and its own extra settings.</summary>
    /// <summary><paramref name="beforeStart"/>: what a test adds to the gateway before it starts (a middleware that watches).</summary>
    public static async Task<OwnCluster> StartAsync(string[] common, string[]? silo = null, string[]? gateway = null, Action<WebApplication>? beforeStart = null)
    {
        var siloGatewayPort = ClusterFixture.FreePort();
        var siloApp = LongLived.Silo.Program.Build([.. common, $"--Orleans:SiloPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPort={siloGatewayPort}", "--Silo:HttpPort=0", .. silo ?? []]); // no fixed HTTP port: tests run beside other processes
        await siloApp.StartAsync();
        var port = ClusterFixture.FreePort();
        var adminPort = ClusterFixture.FreePort();
        // With Orleans:Redis in common the gateway finds the silo through Redis and ignores the port list.
        var gatewayApp = BuildGateway([.. common, .. gateway ?? []], port, adminPort, siloGatewayPort);
        beforeStart?.Invoke(gatewayApp);
        await gatewayApp.StartAsync();
        return new OwnCluster(siloApp, gatewayApp, port, adminPort, siloGatewayPort);
    }

    /// <summary>One more gateway on this cluster's silo, with <paramref name="settings"/> alone (give it the cluster's too); dispose it at the end.</summary>
    public async Task<ExtraGateway> StartExtraGatewayAsync(params string[] settings)
    {
        var (port, adminPort) = (ClusterFixture.FreePort(), ClusterFixture.FreePort());
        var app = BuildGateway(settings, port, adminPort, SiloGatewayPort);
        await app.StartAsync();
        return new ExtraGateway(app, port, adminPort);
    }

    private static WebApplication BuildGateway(string[] settings, int port, int adminPort, int siloGatewayPort) =>
        LongLived.Gateway.Program.Build([.. settings, $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPort}", $"--Orleans:GatewayPorts:0={siloGatewayPort}"]);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Gateway.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        await Silo.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        await Gateway.DisposeAsync();
        await Silo.DisposeAsync();
    }
}
