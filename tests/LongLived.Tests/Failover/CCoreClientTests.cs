using System.Diagnostics;
using Xunit.Abstractions;

namespace LongLived.Tests.Failover;

/// <summary>
/// A client on gRPC C-core (Debian's python3-grpcio, the original contract: tests/python/original_client.py) against
/// real gateway processes. C-core sends a multi-address target as :authority, which Kestrel refuses with no setting to
/// accept it: the gateway must say so (a warning naming the authority and the fix, and a metric), and the documented
/// option (grpc.default_authority) must work.
/// </summary>
public sealed class CCoreClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_multi_address_target_is_refused_visibly_and_works_with_default_authority()
    {
        await using var cluster = await ProcessCluster.StartAsync(gateways: 2);
        var target = $"ipv4:127.0.0.1:{cluster.GatewayPorts[0]},127.0.0.1:{cluster.GatewayPorts[1]}";
        var authority = $"127.0.0.1:{cluster.GatewayPorts[0]},127.0.0.1:{cluster.GatewayPorts[1]}";

        var (refused, refusedOutput) = await RunClientAsync(target, TestStreams.NewId("ccore"), 1, null);
        Assert.True(refused == 3, $"without grpc.default_authority the call should fail (exit 3), got {refused}: {refusedOutput}");

        // Both gateways may have been picked: the warning and the metric are on whichever refused it.
        var warned = await EventuallyAsync(() => cluster.Gateways.Any(g => g.Tail.Contains($":authority \"{authority}\"") && g.Tail.Contains("grpc.default_authority")));
        Assert.True(warned, "no gateway warned about the authority:\n" + string.Join("\n", cluster.Gateways.Select(g => g.Tail)));
        var counted = false;
        foreach (var port in cluster.AdminPorts)
        {
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            counted |= metrics.Split('\n').Any(l => l.StartsWith("longlived_gateway_calls_rejected_total{", StringComparison.Ordinal) && l.Contains("reason=\"invalid-authority\""));
        }
        Assert.True(counted, "no gateway counted the refusal in longlived_gateway_calls_rejected_total{reason=\"invalid-authority\"}");

        var id = TestStreams.NewId("ccore");
        var (status, received) = await RunClientAsync(target, id, 3, $"127.0.0.1:{cluster.GatewayPorts[0]}");
        Assert.True(status == 0, $"with grpc.default_authority: exit {status}: {received}");
        Assert.Equal(3, received.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l == $"data mock for: {id}"));
    }

    private async Task<(int Status, string Output)> RunClientAsync(string target, string id, int count, string? authority)
    {
        var script = Repository.Path("tests", "python", "original_client.py");
        // Debian's interpreter: python3-grpcio and python3-protobuf are Debian packages (./test.sh installs them).
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, target, id, count.ToString(), "--timeout", "20" }) info.ArgumentList.Add(arg);
        if (authority is not null) { info.ArgumentList.Add("--authority"); info.ArgumentList.Add(authority); }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        output.WriteLine($"python client ({target}, authority {authority ?? "default"}): exit {process.ExitCode}\n{text}");
        return (process.ExitCode, text);
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 50 && !condition(); i++) await Task.Delay(200);
        return condition();
    }
}
