namespace LongLived.Tests.Failover;

/// <summary>One silo and N gateways as real processes on free loopback ports.</summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private ProcessCluster(NodeProcess silo, int siloHttpPort, IReadOnlyList<NodeProcess> gateways, IReadOnlyList<int> ports, IReadOnlyList<int> adminPorts)
    {
        Silo = silo;
        SiloHttpPort = siloHttpPort;
        Gateways = gateways;
        GatewayPorts = ports;
        AdminPorts = adminPorts;
    }

    public NodeProcess Silo { get; }
    public IReadOnlyList<NodeProcess> Gateways { get; }
    public IReadOnlyList<int> GatewayPorts { get; }
    /// <summary>The silo's HTTP port (/metrics, /healthz) and each gateway's admin port (/metrics, drain).</summary>
    public int SiloHttpPort { get; }
    public IReadOnlyList<int> AdminPorts { get; }
    public string Address => "static:" + string.Join(',', GatewayPorts.Select(p => $":{p}"));

    public static Task<ProcessCluster> StartAsync(int gateways, params string[] gatewayArgs) => StartAsync(gateways, (_, node) => node, gatewayArgs);

    /// <summary><paramref name="adjust"/>: changes gateway i's process before it starts (e.g. its clock).</summary>
    public static async Task<ProcessCluster> StartAsync(int gateways, Func<int, NodeProcess, NodeProcess> adjust, params string[] gatewayArgs)
    {
        var clusterId = $"chaos-{Guid.NewGuid():N}";
        var siloGatewayPort = ClusterFixture.FreePort();
        string[] quiet = ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId={clusterId}"];
        var siloHttpPort = ClusterFixture.FreePort();
        var silo = NodeProcess.Silo("silo", [.. quiet, $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={siloGatewayPort}", $"--Silo:HttpPort={siloHttpPort}"]);
        silo.Start();
        await NodeProcess.WaitForPortAsync(siloGatewayPort, StartTimeout, silo);

        var ports = Enumerable.Range(0, gateways).Select(_ => ClusterFixture.FreePort()).ToArray();
        var adminPorts = ports.Select(_ => ClusterFixture.FreePort()).ToArray();
        var nodes = ports.Select((port, i) => NodeProcess.Gateway($"gw{i + 1}", [.. quiet,
            $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPorts[i]}", $"--Orleans:GatewayPorts:0={siloGatewayPort}",
            "--Gateway:HeadCheckInterval=00:00:01", .. gatewayArgs])).Select((node, i) => adjust(i, node)).ToArray();
        foreach (var node in nodes) node.Start();
        // Both ports: Kestrel binds them one after the other, and tests call either (the admin one for health and metrics).
        for (var i = 0; i < nodes.Length; i++)
        {
            await NodeProcess.WaitForPortAsync(ports[i], StartTimeout, nodes[i]);
            await NodeProcess.WaitForPortAsync(adminPorts[i], StartTimeout, nodes[i]);
        }
        return new ProcessCluster(silo, siloHttpPort, nodes, ports, adminPorts);
    }

    public async Task RestartGatewayAsync(int index)
    {
        Gateways[index].Start();
        await NodeProcess.WaitForPortAsync(GatewayPorts[index], StartTimeout, Gateways[index]);
        await NodeProcess.WaitForPortAsync(AdminPorts[index], StartTimeout, Gateways[index]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in Gateways) await gateway.DisposeAsync();
        await Silo.DisposeAsync();
    }
}
