namespace LongLived.Hosting;

/// <summary>
/// <c>&lt;program&gt; --healthcheck &lt;url&gt;</c>: GET the url and exit 0 on a 2xx answer, 1 otherwise. The container
/// HEALTHCHECK of the silo and gateway images, which (like the official aspnet image) have no curl or wget.
/// </summary>
public static class HealthProbe
{
    public const string Flag = "--healthcheck";

    /// <summary>The url to probe when <paramref name="args"/> asks for a health check, else null.</summary>
    public static string? Requested(string[] args) =>
        args.Length >= 1 && args[0] == Flag ? (args.Length >= 2 ? args[1] : "") : null;

    public static async Task<int> RunAsync(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await Console.Error.WriteLineAsync($"{Flag}: \"{url}\" is not an http(s) url, e.g. http://127.0.0.1:8090/healthz");
            return 2;
        }
        var handler = new SocketsHttpHandler();
        // A container probing itself over TLS (Gateway:Tls on the admin port): its certificate names the service, not
        // 127.0.0.1, and the probe sends nothing secret. Any other host is validated as usual.
        if (uri.IsLoopback) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(uri);
            var body = await response.Content.ReadAsStringAsync();
            Console.WriteLine($"{(int)response.StatusCode} {body}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{uri}: {ex.Message}");
            return 1;
        }
    }
}
