using LongLived.Contracts.Grains;

namespace LongLived.Tests;

/// <summary>What an operator scrapes and probes: /metrics (Prometheus) and /healthz on the gateway's admin port and the silo.</summary>
[Collection(ClusterCollection.Name)]
public sealed class OperatorEndpointTests(ClusterFixture cluster)
{
    private static readonly HttpClient Http = new() { Timeout = TestStreams.Patience };

    [Fact]
    public async Task Gateway_metrics_count_streams_and_relayed_messages()
    {
        var id = TestStreams.NewId("metrics");
        using (var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id)))
        {
            await call.ResponseStream.TakeAsync(2, ChannelNames.ForClient(id));
        }

        var text = await EventuallyAsync($"http://127.0.0.1:{cluster.AdminPort1}/metrics", "longlived_gateway_streams_ended_total");
        Assert.Contains("longlived_gateway_streams_started_total", text);
        Assert.Contains("longlived_gateway_streams_active", text);
        Assert.Matches("longlived_gateway_messages_relayed_total\\{[^}]*source=\"live\"[^}]*\\} [1-9]", text);
        Assert.Contains("longlived_gateway_relay_latency", text);
    }

    [Fact]
    public async Task Silo_metrics_include_its_own_meter_and_Orleans()
    {
        var id = TestStreams.NewId("silo-metrics");
        using (var call = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(id)))
        {
            await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id));
        }

        var text = await EventuallyAsync($"http://127.0.0.1:{cluster.SiloHttpPort}/metrics", "longlived_silo_messages_appended_total");
        Assert.Matches("longlived_silo_messages_appended_total\\{[^}]*kind=\"generated\"[^}]*\\} [1-9]", text);
        Assert.Contains("orleans_", text);
    }

    [Fact]
    public async Task Health_endpoints_say_healthy_for_an_active_silo_and_a_serving_gateway()
    {
        var silo = await Http.GetAsync($"http://127.0.0.1:{cluster.SiloHttpPort}/healthz");
        var gateway = await Http.GetAsync($"http://127.0.0.1:{cluster.AdminPort2}/healthz");

        Assert.True(silo.IsSuccessStatusCode, await silo.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", await silo.Content.ReadAsStringAsync());
        Assert.True(gateway.IsSuccessStatusCode);
        Assert.Equal("Healthy", await gateway.Content.ReadAsStringAsync());
    }

    /// <summary>Metrics are collected asynchronously: scrape until the series appears (30 s at most).</summary>
    internal static async Task<string> EventuallyAsync(string url, string series)
    {
        var deadline = DateTime.UtcNow + TestStreams.Patience;
        string text;
        do
        {
            text = await Http.GetStringAsync(url);
            if (text.Contains(series)) return text;
            await Task.Delay(500);
        } while (DateTime.UtcNow < deadline);
        throw new Xunit.Sdk.XunitException($"{series} never appeared at {url}:\n{text[..Math.Min(2000, text.Length)]}");
    }
}

/// <summary>The admin routes (drain, health, metrics) must not be reachable through the public gRPC port.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AdminPortIsolationTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_forged_authority_on_the_gRPC_port_reaches_no_admin_route()
    {
        await using var gateway = await cluster.StartExtraGatewayAsync();
        using var http = new HttpClient();

        // What an attacker sends: h2c with prior knowledge to the public port, ":authority: x:<admin port>".
        foreach (var path in new[] { "/server/stop", "/server/start", "/healthz", "/metrics" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.Port}{path}")
            {
                Version = System.Net.HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.Host = $"x:{gateway.AdminPort}";
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.NotFound, $"{path} through the gRPC port answered {(int)response.StatusCode}");
        }

        // The gateway still serves, and its admin port still answers.
        Assert.Equal("Healthy", await http.GetStringAsync($"http://127.0.0.1:{gateway.AdminPort}/healthz"));
        var id = TestStreams.NewId("after-forgery");
        using var call = new Contracts.Longlived.LonglivedClient(cluster.Channel(gateway.Port)).Subscribe(TestStreams.Subscribe(id));
        Assert.Single(await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id)));
    }
}
