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
        // The order is reproducible: LL_TEST_SEED=<printed seed> replays it.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("LL_TEST_SEED"), out var given) ? given : Environment.TickCount;
        var order = VictimOrder(seed, cluster.Gateways.Count);
        output.WriteLine($"victim order seed {seed}: {string.Join(", ", order.Select(v => cluster.Gateways[v].Name))}");
        foreach (var victim in order)
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

    /// <summary>A permutation of the gateway indexes drawn from one generator seeded once (Fisher-Yates).</summary>
    internal static int[] VictimOrder(int seed, int count)
    {
        var random = new Random(seed);
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
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

public sealed class VictimOrderTests
{
    [Fact]
    public void The_kill_order_depends_on_the_seed_and_is_reproducible_from_it()
    {
        var orders = Enumerable.Range(0, 50).Select(seed => string.Join(",", GatewayFailoverTests.VictimOrder(seed, 3))).ToArray();

        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(orders[seed], string.Join(",", GatewayFailoverTests.VictimOrder(seed, 3))));
        Assert.All(orders, o => Assert.Equal("0,1,2", string.Join(",", o.Split(',').Order())));
        Assert.True(orders.Distinct().Count() >= 4, $"50 seeds gave only {orders.Distinct().Count()} orders: {string.Join(" ", orders.Distinct())}");
    }
}
