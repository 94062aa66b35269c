using System.Net;
using System.Net.Http.Headers;

namespace LongLived.Tests;

/// <summary>
/// Gateway:AdminToken: once set, the admin port's operator endpoints want it from every caller, loopback included (a
/// proxy on the host makes outside callers look local); /healthz stays open for probes.
/// </summary>
public sealed class AdminAccessTests
{
    [Fact]
    public async Task With_an_admin_token_operator_endpoints_need_it_and_health_does_not()
    {
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId=admin-{Guid.NewGuid():N}"],
            gateway: ["--Gateway:AdminToken=operator-secret"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.AdminPort}") };

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/server/stop", null)).StatusCode);
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "operator-secreT") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        var right = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "operator-secret") } };
        var metrics = await http.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE", await metrics.Content.ReadAsStringAsync()); // the Prometheus text itself

        // A browser: the 401 offers Basic, and any user name with the token as password is let in.
        var challenge = await http.GetAsync("/metrics");
        Assert.Contains(challenge.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        static AuthenticationHeaderValue Basic(string user, string password) => new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
        var browser = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = Basic("anyone", "operator-secret") } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(browser)).StatusCode);
        var guess = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = Basic("operator-secret", "wrong") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(guess)).StatusCode);
        var garbage = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Basic", "%%%not-base64") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(garbage)).StatusCode);
        // Not for what changes state: a browser would send cached Basic credentials with any page's request to it.
        var drain = new HttpRequestMessage(HttpMethod.Get, "/server/stop") { Headers = { Authorization = Basic("anyone", "operator-secret") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(drain)).StatusCode);
    }
}
