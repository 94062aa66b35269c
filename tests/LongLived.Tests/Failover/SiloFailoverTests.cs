using System.Diagnostics;
using LongLived.Emulator;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace LongLived.Tests.Failover;

/// <summary>
/// Two silos, clients streaming through gateways: kill -9 one silo. With Redis, its grains re-activate on the
/// survivor with their stored offsets: no gap, no duplicate, no epoch change. With in-memory storage, what died is
/// reported as not recoverable: still no silent gap. Every stream continues.
/// </summary>
public sealed class SiloFailoverTests(ITestOutputHelper output)
{
    private const int Clients = 60;

    [Fact]
    public async Task Killing_one_of_two_silos_with_Redis_storage_loses_and_repeats_nothing()
    {
        var redisPort = ClusterFixture.FreePort();
        await using var redis = NodeProcess.Redis(redisPort);
        redis.Start();
        await NodeProcess.WaitForPortAsync(redisPort, ProcessCluster.StartTimeout, redis);

        var connection = $"127.0.0.1:{redisPort}";
        string[] common = ["--Logging:LogLevel:Default=Warning", $"--Orleans:Redis={connection}", $"--Orleans:ClusterId=silo-chaos-{Guid.NewGuid():N}"];
        var siloGatewayPorts = new[] { ClusterFixture.FreePort(), ClusterFixture.FreePort() };
        var siloHttpPorts = new[] { ClusterFixture.FreePort(), ClusterFixture.FreePort() };
        var silos = siloGatewayPorts.Select((port, i) => NodeProcess.Silo($"silo{i + 1}", [.. common,
            $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={port}", $"--Silo:HttpPort={siloHttpPorts[i]}"])).ToArray();
        var gatewayPorts = new[] { ClusterFixture.FreePort(), ClusterFixture.FreePort() };
        var gateways = gatewayPorts.Select((port, i) => NodeProcess.Gateway($"gw{i + 1}", [.. common,
            $"--Gateway:Port={port}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}", "--Gateway:HeadCheckInterval=00:00:01"])).ToArray();
        try
        {
            foreach (var (silo, port) in silos.Zip(siloGatewayPorts))
            {
                silo.Start();
                await NodeProcess.WaitForPortAsync(port, ProcessCluster.StartTimeout, silo);
            }
            foreach (var (gateway, port) in gateways.Zip(gatewayPorts))
            {
                gateway.Start();
                await NodeProcess.WaitForPortAsync(port, ProcessCluster.StartTimeout, gateway);
            }

            var (report, beforeKill) = await RunAndKillAsync("static:" + string.Join(',', gatewayPorts.Select(p => $":{p}")), silos[1], siloHttpPorts[1]);
            Assert.Equal(0, report.Gaps);
            Assert.Equal(0, report.Duplicates);
            Assert.Equal(0, report.Unrecoverable);
            AssertEveryStreamContinued(report, beforeKill);
        }
        catch
        {
            output.WriteLine("silo1 output (tail):\n" + silos[0].Tail);
            throw;
        }
        finally
        {
            foreach (var node in gateways.Concat(silos)) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task Killing_a_silo_with_in_memory_storage_is_reported_never_a_silent_gap()
    {
        // Localhost clustering keeps membership on the primary silo: the secondary is the one that can die.
        string[] common = ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId=memory-chaos-{Guid.NewGuid():N}"];
        var primarySiloPort = ClusterFixture.FreePort();
        var gatewayPorts = new[] { ClusterFixture.FreePort(), ClusterFixture.FreePort() };
        var primary = NodeProcess.Silo("silo1", [.. common, $"--Orleans:SiloPort={primarySiloPort}", $"--Orleans:GatewayPort={gatewayPorts[0]}", $"--Silo:HttpPort={ClusterFixture.FreePort()}"]);
        var secondaryHttpPort = ClusterFixture.FreePort();
        var secondary = NodeProcess.Silo("silo2", [.. common, $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={gatewayPorts[1]}",
            $"--Orleans:PrimarySiloPort={primarySiloPort}", $"--Silo:HttpPort={secondaryHttpPort}"]);
        var grpcPort = ClusterFixture.FreePort();
        var gateway = NodeProcess.Gateway("gw1", [.. common, $"--Gateway:Port={grpcPort}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPorts:0={gatewayPorts[0]}", $"--Orleans:GatewayPorts:1={gatewayPorts[1]}", "--Gateway:HeadCheckInterval=00:00:01"]);
        try
        {
            primary.Start();
            await NodeProcess.WaitForPortAsync(gatewayPorts[0], ProcessCluster.StartTimeout, primary);
            secondary.Start();
            await NodeProcess.WaitForPortAsync(gatewayPorts[1], ProcessCluster.StartTimeout, secondary);
            gateway.Start();
            await NodeProcess.WaitForPortAsync(grpcPort, ProcessCluster.StartTimeout, gateway);

            var (report, beforeKill) = await RunAndKillAsync($"http://127.0.0.1:{grpcPort}", secondary, secondaryHttpPort);
            // Channels whose state died with the silo restart with a new epoch: reported, counted as unrecoverable.
            Assert.True(report.Unrecoverable > 0, "the killed silo hosted channels, yet no client was told anything was lost");
            Assert.Equal(0, report.Gaps);
            Assert.Equal(0, report.Duplicates);
            AssertEveryStreamContinued(report, beforeKill);
        }
        catch
        {
            output.WriteLine("gateway output (tail):\n" + gateway.Tail);
            throw;
        }
        finally
        {
            foreach (var node in new[] { gateway, secondary, primary }) await node.DisposeAsync();
        }
    }

    /// <summary>
    /// Streams <see cref="Clients"/> clients, kills <paramref name="victim"/> once they all receive, and waits until every
    /// client has received a few more messages (membership has removed the dead silo), or 90 s.
    /// </summary>
    private async Task<(RunReport Report, IReadOnlyDictionary<string, long> BeforeKill)> RunAndKillAsync(string address, NodeProcess victim, int victimHttpPort)
    {
        var settings = new EmulatorSettings { Address = address, Clients = Clients, LogMessages = false, RampUp = TimeSpan.FromSeconds(2) };
        using var stop = new CancellationTokenSource();
        var run = new EmulatorRun(settings, NullLoggerFactory.Instance);
        var running = run.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(8));

        var beforeKill = run.Clients.ToDictionary(c => c.Id, c => Interlocked.Read(ref c.Stats.Received));
        // The kill must matter: the victim hosts channel grains now (its own gauge, scraped as an operator would).
        var hosted = await ActiveChannelsAsync(victimHttpPort);
        Assert.True(hosted > 0, $"{victim.Name} hosts no channel: killing it proves nothing");
        output.WriteLine($"kill -9 {victim.Name} (hosting {hosted} channels) after {beforeKill.Values.Sum()} messages");
        var clock = Stopwatch.StartNew();
        victim.Kill();
        while (clock.Elapsed < TimeSpan.FromSeconds(90) && run.Clients.Any(c => Interlocked.Read(ref c.Stats.Received) < beforeKill[c.Id] + 3))
        {
            await Task.Delay(250);
        }
        output.WriteLine($"every client streaming again {clock.Elapsed.TotalSeconds:0.0} s after the kill");
        stop.Cancel();
        var report = await running.WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine(report.Describe());
        return (report, beforeKill);
    }

    /// <summary>The silo's longlived_silo_channels_active gauge from its /metrics (0 when absent).</summary>
    private static async Task<double> ActiveChannelsAsync(int httpPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await http.GetStringAsync($"http://127.0.0.1:{httpPort}/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("longlived_silo_channels_active"));
        return line is null ? 0 : double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AssertEveryStreamContinued(RunReport report, IReadOnlyDictionary<string, long> beforeKill) =>
        Assert.All(report.PerClient, c => Assert.True(c.Received >= beforeKill[c.Id] + 3,
            $"{c.Id}: {beforeKill[c.Id]} messages before the kill, {c.Received} at the end: the stream did not continue"));
}
