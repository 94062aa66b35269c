using LongLived.Emulator;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace LongLived.Tests.Failover;

/// <summary>
/// Gateways die or drain under load, as real processes; the emulator's clients must resume elsewhere and see every
/// offset exactly once. Timings are generous pauses, not assertions.
/// </summary>
public sealed class GatewayFailoverTests(ITestOutputHelper output)
{
    private const int Clients = 200;

    [Fact]
    public async Task Killing_gateways_with_SIGKILL_loses_and_repeats_nothing()
    {
        await using var cluster = await ProcessCluster.StartAsync(gateways: 3);
        var (run, running, stop) = StartEmulator(cluster);
        await Task.Delay(TimeSpan.FromSeconds(6)); // everyone subscribed and receiving

        // Each round kills a gateway not yet killed in this test, in random order: every round hits live clients.
        var seed = Environment.TickCount;
        output.WriteLine($"victim order seed {seed}");
        foreach (var victim in Enumerable.Range(0, 3).OrderBy(_ => new Random(seed).Next()).ToArray().Select((v, i) => (v + i) % 3).Distinct())
        {
            output.WriteLine($"kill -9 {cluster.Gateways[victim].Name}");
            cluster.Gateways[victim].Kill();
            await Task.Delay(TimeSpan.FromSeconds(3));
            await cluster.RestartGatewayAsync(victim);
            await Task.Delay(TimeSpan.FromSeconds(4));
        }
        await Task.Delay(TimeSpan.FromSeconds(5)); // let the last resumes catch up

        var report = await FinishAsync(run, running, stop);
        AssertNothingLostOrRepeated(report);
        Assert.True(report.ResumedClients > 0, "no client was on a killed gateway");
    }

    [Fact]
    public async Task A_rolling_restart_with_SIGTERM_loses_and_repeats_nothing()
    {
        await using var cluster = await ProcessCluster.StartAsync(gateways: 3);
        var (run, running, stop) = StartEmulator(cluster);
        await Task.Delay(TimeSpan.FromSeconds(6));

        for (var i = 0; i < cluster.Gateways.Count; i++)
        {
            output.WriteLine($"SIGTERM {cluster.Gateways[i].Name}");
            await cluster.Gateways[i].TerminateAsync(TimeSpan.FromSeconds(60));
            await cluster.RestartGatewayAsync(i);
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        await Task.Delay(TimeSpan.FromSeconds(5));

        var report = await FinishAsync(run, running, stop);
        AssertNothingLostOrRepeated(report);
        Assert.True(report.ResumedClients > 0, "no client was on a drained gateway");
    }

    private static (EmulatorRun Run, Task<RunReport> Running, CancellationTokenSource Stop) StartEmulator(ProcessCluster cluster)
    {
        var settings = new EmulatorSettings
        {
            Address = cluster.Address,
            Clients = Clients,
            LogMessages = false,
            RampUp = TimeSpan.FromSeconds(2),
        };
        var stop = new CancellationTokenSource();
        var run = new EmulatorRun(settings, NullLoggerFactory.Instance);
        return (run, run.RunAsync(stop.Token), stop);
    }

    private async Task<RunReport> FinishAsync(EmulatorRun run, Task<RunReport> running, CancellationTokenSource stop)
    {
        stop.Cancel();
        var report = await running.WaitAsync(TimeSpan.FromMinutes(1));
        stop.Dispose();
        output.WriteLine(report.Describe());
        return report;
    }

    private static void AssertNothingLostOrRepeated(RunReport report)
    {
        Assert.Equal(Clients, report.Clients);
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.Unrecoverable);
        Assert.All(report.PerClient, c =>
        {
            Assert.True(c.Received >= 10, $"{c.Id} received only {c.Received}");
            Assert.True(c.Reconnects == 0 || c.Resumes > 0, $"{c.Id} failed {c.Reconnects} times and never resumed");
        });
    }
}
