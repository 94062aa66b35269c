namespace LongLived.Tests.Failover;

/// <summary>One silo and N gateways as real processes on free loopback ports.</summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private ProcessCluster(NodeProcess silo, IReadOnlyList<NodeProcess> gateways, IReadOnlyList<int> ports)
    {
        Silo = silo;
        Gateways = gateways;
        GatewayPorts = ports;
    }

    public NodeProcess Silo { get; }
    public IReadOnlyList<NodeProcess> Gateways { get; }
    public IReadOnlyList<int> GatewayPorts { get; }
    public string Address => "static:" + string.Join(',', GatewayPorts.Select(p => $":{p}"));

    public static async Task<ProcessCluster> StartAsync(int gateways, params string[] gatewayArgs)
    {
        var clusterId = $"chaos-{Guid.NewGuid():N}";
        var siloGatewayPort = ClusterFixture.FreePort();
        string[] quiet = ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId={clusterId}"];
        var silo = NodeProcess.Silo("silo", [.. quiet, $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={siloGatewayPort}", $"--Silo:HttpPort={ClusterFixture.FreePort()}"]);
        silo.Start();
        await NodeProcess.WaitForPortAsync(siloGatewayPort, StartTimeout, silo);

        var ports = Enumerable.Range(0, gateways).Select(_ => ClusterFixture.FreePort()).ToArray();
        var nodes = ports.Select((port, i) => NodeProcess.Gateway($"gw{i + 1}", [.. quiet,
            $"--Gateway:Port={port}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPorts:0={siloGatewayPort}",
            "--Gateway:HeadCheckInterval=00:00:01", .. gatewayArgs])).ToArray();
        foreach (var node in nodes) node.Start();
        for (var i = 0; i < nodes.Length; i++) await NodeProcess.WaitForPortAsync(ports[i], StartTimeout, nodes[i]);
        return new ProcessCluster(silo, nodes, ports);
    }

    public async Task RestartGatewayAsync(int index)
    {
        Gateways[index].Start();
        await NodeProcess.WaitForPortAsync(GatewayPorts[index], StartTimeout, Gateways[index]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in Gateways) await gateway.DisposeAsync();
        await Silo.DisposeAsync();
    }
}
