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
        var silos = siloGatewayPorts.Select((port, i) => NodeProcess.Silo($"silo{i + 1}", [.. common,
            $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={port}", $"--Silo:HttpPort={ClusterFixture.FreePort()}"])).ToArray();
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

            var settings = new EmulatorSettings
            {
                Address = "static:" + string.Join(',', gatewayPorts.Select(p => $":{p}")),
                Clients = Clients,
                LogMessages = false,
                RampUp = TimeSpan.FromSeconds(2),
            };
            using var stop = new CancellationTokenSource();
            var run = new EmulatorRun(settings, NullLoggerFactory.Instance);
            var running = run.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(8));

            var beforeKill = run.Clients.ToDictionary(c => c.Id, c => Interlocked.Read(ref c.Stats.Received));
            output.WriteLine($"kill -9 silo2 after {beforeKill.Values.Sum()} messages");
            var clock = Stopwatch.StartNew();
            silos[1].Kill();

            // Wait until every client has moved on by a few messages again (membership removes the dead silo first).
            var deadline = TimeSpan.FromSeconds(90);
            while (clock.Elapsed < deadline && run.Clients.Any(c => Interlocked.Read(ref c.Stats.Received) < beforeKill[c.Id] + 3))
            {
                await Task.Delay(250);
            }
            output.WriteLine($"every client streaming again {clock.Elapsed.TotalSeconds:0.0} s after the kill");
            await Task.Delay(TimeSpan.FromSeconds(3));
            stop.Cancel();
            var report = await running.WaitAsync(TimeSpan.FromMinutes(1));

            output.WriteLine($"clients {report.Clients} received {report.Received} gaps {report.Gaps} duplicates {report.Duplicates} " +
                $"reconnects {report.Reconnects} resumed clients {report.ResumedClients} unrecoverable {report.Unrecoverable} " +
                $"resume p50 {report.ResumeMs.P50} ms p99 {report.ResumeMs.P99} ms");
            Assert.Equal(0, report.Gaps);
            Assert.Equal(0, report.Duplicates);
            Assert.Equal(0, report.Unrecoverable);
            Assert.All(report.PerClient, c => Assert.True(c.Received >= beforeKill[c.Id] + 3,
                $"{c.Id}: {beforeKill[c.Id]} messages before the kill, {c.Received} at the end: the stream did not continue"));
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
        var secondary = NodeProcess.Silo("silo2", [.. common, $"--Orleans:SiloPort={ClusterFixture.FreePort()}", $"--Orleans:GatewayPort={gatewayPorts[1]}",
            $"--Orleans:PrimarySiloPort={primarySiloPort}", $"--Silo:HttpPort={ClusterFixture.FreePort()}"]);
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

            var settings = new EmulatorSettings { Address = $"http://127.0.0.1:{grpcPort}", Clients = Clients, LogMessages = false, RampUp = TimeSpan.FromSeconds(2) };
            using var stop = new CancellationTokenSource();
            var run = new EmulatorRun(settings, NullLoggerFactory.Instance);
            var running = run.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(8));
            var beforeKill = run.Clients.ToDictionary(c => c.Id, c => Interlocked.Read(ref c.Stats.Received));
            secondary.Kill();

            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && run.Clients.Any(c => Interlocked.Read(ref c.Stats.Received) < beforeKill[c.Id] + 3))
            {
                await Task.Delay(250);
            }
            output.WriteLine($"every client streaming again {clock.Elapsed.TotalSeconds:0.0} s after the kill");
            stop.Cancel();
            var report = await running.WaitAsync(TimeSpan.FromMinutes(1));

            output.WriteLine($"clients {report.Clients} received {report.Received} gaps {report.Gaps} duplicates {report.Duplicates} " +
                $"reconnects {report.Reconnects} unrecoverable {report.Unrecoverable}");
            // Channels whose state died with the silo restart with a new epoch: reported, counted as unrecoverable.
            Assert.Equal(0, report.Gaps);
            Assert.Equal(0, report.Duplicates);
            Assert.All(report.PerClient, c => Assert.True(c.Received >= beforeKill[c.Id] + 3,
                $"{c.Id}: {beforeKill[c.Id]} messages before the kill, {c.Received} at the end: the stream did not continue"));
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
}
