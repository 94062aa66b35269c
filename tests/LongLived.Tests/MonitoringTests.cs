using System.Text.RegularExpressions;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Tests.Failover;

namespace LongLived.Tests;

/// <summary>
/// Grafana cannot run here: every metric the dashboard (deploy/grafana/longlived.json) and the alert and recording rules
/// (deploy/prometheus/rules.yml) name must exist in a live gateway's and silo's /metrics, so a renamed metric breaks
/// the build, not the dashboard. Real processes, one host each, as Prometheus scrapes them.
/// </summary>
public sealed class MonitoringTests
{
    [Fact]
    public async Task Every_metric_the_dashboard_and_the_rules_name_is_exported()
    {
        await using var cluster = await ProcessCluster.StartAsync(gateways: 1);
        // Traffic first, so that the series that appear with it (streams, relay latency, channels) exist.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.GatewayPorts[0]}");
        var id = TestStreams.NewId("monitoring");
        using var call = new Longlived.LonglivedClient(channel).Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(2, ChannelNames.ForClient(id));

        using var http = new HttpClient();
        var exported = await http.GetStringAsync($"http://127.0.0.1:{cluster.AdminPorts[0]}/metrics")
            + await http.GetStringAsync($"http://127.0.0.1:{cluster.SiloHttpPort}/metrics");
        var names = Regex.Matches(exported, @"^([a-zA-Z_][a-zA-Z0-9_]*)(\{| )", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();

        var referenced = new Dictionary<string, string>();
        foreach (var file in new[] { "deploy/grafana/longlived.json", "deploy/prometheus/rules.yml" })
        {
            var text = File.ReadAllText(Repository.Path(file));
            // Metric names: ours, .NET's runtime and Orleans'; recording rules (with ':') and label names are not metrics.
            foreach (Match m in Regex.Matches(text, @"(?<![\w:])((?:longlived|dotnet|orleans)_[a-z0-9_]+)(?![\w:])"))
            {
                referenced.TryAdd(m.Groups[1].Value, file);
            }
        }
        Assert.True(referenced.Count >= 10, $"only {referenced.Count} metric names found in the dashboard and rules");
        var missing = referenced.Where(r => !names.Contains(r.Key)).Select(r => $"{r.Key} ({r.Value})").ToList();
        Assert.True(missing.Count == 0, "named but not exported: " + string.Join(", ", missing));
    }
}
