using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace LongLived.Hosting;

/// <summary>What the silo and the gateway host alike: how a builder starts, how metrics are exported.</summary>
public static class LongLivedHost
{
    /// <summary>
    /// Runs the host <paramref name="build"/> makes; with <c>--healthcheck &lt;url&gt;</c>, probes a running one instead
    /// (the containers' HEALTHCHECK: <see cref="HealthProbe"/>).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Func<string[], WebApplication> build)
    {
        if (HealthProbe.Requested(args) is { } url) return await HealthProbe.RunAsync(url);
        // Sized before the host is built, since what it builds and starts runs on the pool; and here, not in build: the tests
        // build silos and gateways inside their own process.
        int workers;
        string? error;
        using (var settings = CreateBuilder(args).Configuration)
        {
            if (!WorkerThreads.TryApply(settings, out workers, out error))
            {
                await Console.Error.WriteLineAsync(error);
                return 2;
            }
        }
        var app = build(args);
        if (workers > 0) app.Logger.LogInformation("Thread pool: {Workers} worker thread(s) ({Key})", workers, WorkerThreads.Key);
        await app.RunAsync();
        return 0;
    }

    /// <summary>A web application builder whose content root is the binary's folder, so appsettings.json is found whatever the working directory.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

    /// <summary>A section bound to <typeparamref name="T"/>, or its defaults when the section is absent.</summary>
    public static T Read<T>(this IConfiguration configuration, string section) where T : new() =>
        configuration.GetSection(section).Get<T>() ?? new();

    /// <summary>OpenTelemetry metrics of <paramref name="meters"/>, Orleans and the runtime, for a Prometheus scrape at /metrics.</summary>
    public static IServiceCollection AddLongLivedMetrics(this IServiceCollection services, params string[] meters)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter([.. meters, "Microsoft.Orleans", "System.Runtime"])
            // Orleans records every message's size in histograms: a bucket lookup per message, for figures nobody reads.
            .AddView("orleans-messaging-*-size", MetricStreamConfiguration.Drop)
            .AddPrometheusExporter());
        return services;
    }
}
