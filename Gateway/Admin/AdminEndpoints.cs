using Grpc.Health.V1;
using Grpc.HealthCheck;
using LongLived.Gateway.Relay;

namespace LongLived.Gateway.Admin;

/// <summary>
/// The admin HTTP port (gRPC port + 1000 by default): /server/stop (drain), /server/start, /healthz, /metrics (Prometheus).
/// Answers in the original's JSON shape: {"status":…,"message":…,"data":…}.
/// </summary>
public static class AdminEndpoints
{
    public static void MapAdmin(this WebApplication app, int adminPort)
    {
        var host = $"*:{adminPort}";
        var drain = app.Services.GetRequiredService<DrainSignal>();
        var sessions = app.Services.GetRequiredService<SessionRegistry>();

        app.MapMethods("/server/stop", ["GET", "POST"], () =>
        {
            var streams = sessions.Count;
            drain.Drain("/server/stop");
            return Results.Json(new Reply(200, "Stop successfully", new { draining = true, streamsEnded = streams }));
        }).RequireHost(host);

        app.MapMethods("/server/start", ["GET", "POST"], () =>
        {
            var was = drain.IsDraining;
            drain.Serve();
            return was
                ? Results.Json(new Reply(200, "OK", new { draining = false }))
                : Results.Json(new Reply(304, "Server already started", new { draining = false }));
        }).RequireHost(host);

        app.MapHealthChecks("/healthz").RequireHost(host);
        app.MapPrometheusScrapingEndpoint("/metrics").RequireHost(host);

        app.MapFallback(context =>
        {
            context.Response.StatusCode = 404;
            return context.Response.WriteAsJsonAsync(new Reply(404, "unsupported path", new { path = context.Request.Path.Value }));
        }).RequireHost(host);

        // Push drain changes to grpc.health.v1 Watch callers at once instead of at the next health publish.
        var health = app.Services.GetRequiredService<HealthServiceImpl>();
        drain.Changed += draining =>
        {
            var status = draining ? HealthCheckResponse.Types.ServingStatus.NotServing : HealthCheckResponse.Types.ServingStatus.Serving;
            health.SetStatus("", status);
            health.SetStatus(LongLived.Contracts.Longlived.Descriptor.FullName, status);
        };
    }

    public sealed record Reply(int Status, string Message, object? Data);
}
