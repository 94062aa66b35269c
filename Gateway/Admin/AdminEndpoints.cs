using Grpc.Health.V1;
using Grpc.HealthCheck;
using LongLived.Hosting;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Sessions;

namespace LongLived.Gateway.Admin;

/// <summary>
/// The admin HTTP port (gRPC port + 1000 by default): /server/stop (drain), /server/start, /healthz, /metrics (Prometheus).
/// Answers in the original's JSON shape: {"status":…,"message":…,"data":…}.
/// They answer only on a connection accepted by the admin listener: the check is the connection's local port, not the
/// Host/:authority header, which any client of the public gRPC port can set to whatever it likes.
/// </summary>
public static class AdminEndpoints
{
    public static void MapAdmin(this WebApplication app, Options.GatewayOptions options)
    {
        var adminPort = options.EffectiveAdminPort;
        // Endpoint routing has matched by now (WebApplication runs it first): refuse admin endpoints on other ports.
        app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AdminOnly>() is null || context.Connection.LocalPort == adminPort) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        app.UseAdminAccess(options.AdminToken, "Gateway:AdminToken", context => context.GetEndpoint()?.Metadata.GetMetadata<AdminOnly>() is not null);
        var drain = app.Services.GetRequiredService<DrainSignal>();
        var sessions = app.Services.GetRequiredService<SessionRegistry>();

        app.MapMethods("/server/stop", ["GET", "POST"], () =>
        {
            var streams = sessions.Count;
            drain.Drain("/server/stop");
            return Results.Json(new Reply(200, "Stop successfully", new { draining = true, streamsEnded = streams }));
        }).WithMetadata(AdminOnly.Instance);

        app.MapMethods("/server/start", ["GET", "POST"], () =>
        {
            var was = drain.IsDraining;
            drain.Serve();
            return was
                ? Results.Json(new Reply(200, "OK", new { draining = false }))
                : Results.Json(new Reply(304, "Server already started", new { draining = false }));
        }).WithMetadata(AdminOnly.Instance);

        app.MapHealthChecks("/healthz").WithMetadata(AdminOnly.Instance);
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(AdminOnly.Instance);

        app.MapFallback(context =>
        {
            context.Response.StatusCode = 404;
            return context.Response.WriteAsJsonAsync(new Reply(404, "unsupported path", new { path = context.Request.Path.Value }));
        }).WithMetadata(AdminOnly.Instance);

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

    /// <summary>Marks an endpoint served on the admin port only.</summary>
    private sealed class AdminOnly
    {
        public static readonly AdminOnly Instance = new();
    }
}
