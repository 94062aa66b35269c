using LongLived.Hosting;
using LongLived.Silo.Operations;
using LongLived.Silo.Options;
using LongLived.Streams;
using Orleans.Dashboard;

namespace LongLived.Silo.Hosting;

public static class SiloOperationsHosting
{
    /// <summary>Metrics ("LongLived.Silo", the streams', Orleans'), the membership health check and, with an HTTP port, the dashboard.</summary>
    public static WebApplicationBuilder AddSiloOperations(this WebApplicationBuilder builder)
    {
        var http = builder.Configuration.Read<SiloHttpOptions>(SiloHttpOptions.Section);
        builder.Services.AddHealthChecks().AddCheck<SiloHealthCheck>("membership");
        builder.Services.AddLongLivedMetrics(SiloMetrics.MeterName, StreamMetrics.MeterName);
        if (http.HttpPort > 0 && http.Dashboard) builder.UseOrleans(silo => silo.AddDashboard());
        return builder;
    }

    /// <summary>The operators' HTTP port: /healthz, /metrics and the Orleans dashboard at /dashboard.</summary>
    public static WebApplication MapSiloEndpoints(this WebApplication app)
    {
        var http = app.Configuration.Read<SiloHttpOptions>(SiloHttpOptions.Section);
        if (http.HttpPort <= 0)
        {
            // Kestrel still starts: without a URL it would take http://localhost:5000, which another process may hold.
            app.Urls.Add("http://127.0.0.1:0");
            return app;
        }
        if (http.ListenAnyIP) app.Urls.Add($"http://*:{http.HttpPort}");
        else app.Urls.Add($"http://localhost:{http.HttpPort}");
        app.UseAdminAccess(http.AdminToken, "Silo:AdminToken", _ => true);
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (http.Dashboard) app.MapOrleansDashboard("/dashboard");
        return app;
    }
}
