using LongLived.Channelz;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LongLived.Emulator;

/// <summary>
/// The original's REST control API (default :7080), same paths and JSON shape:
/// /client/start?n=N, /client/stop?id=ID|all, /client/list, /client/notify?n=N → {"status":…,"message":…,"data":…}.
/// grpc.channelz.v1 for the emulator's gateway channel (GRPC_CHANNELZ) is on the next port (h2c): Kestrel answers
/// prior-knowledge HTTP/2 on a cleartext HTTP/1.1+2 endpoint with HTTP_1_1_REQUIRED, so one port cannot serve both
/// curl and grpcurl -plaintext.
/// </summary>
public static class ControlApi
{
    public const int MaxPerRequest = 10_000;

    /// <summary>REST on <paramref name="port"/>; channelz on <paramref name="port"/> + 1 when the run reports channelz.</summary>
    public static async Task<WebApplication> StartAsync(EmulatorRun run, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Its default console lifetime would take Ctrl+C and SIGTERM for itself and stop only this API: the run handles them.
        builder.Services.AddSingleton<IHostLifetime, NoSignals>();
        var grpcPort = port + 1;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1);
            if (run.Channelz is not null) k.ListenLocalhost(grpcPort, o => o.Protocols = HttpProtocols.Http2);
        });
        if (run.Channelz is { } channelz)
        {
            builder.Services.AddSingleton(channelz);
            builder.Services.AddGrpc();
        }
        var app = builder.Build();
        if (run.Channelz is not null) app.MapGrpcService<ChannelzService>().RequireHost($"*:{grpcPort}");

        app.MapGet("/client/list", () => Reply(200, "OK", run.Clients.Select(c => c.Id).ToArray()));
        app.MapGet("/client/start", (int? n) => Count(n) is { } count
            ? Reply(200, "OK", new { clientID = run.Start(count) })
            : BadCount(n));
        app.MapGet("/client/stop", async (string? id) =>
        {
            if (id == "all") return Reply(200, "stop all clients", new { clientIds = await run.StopAllAsync() });
            return !string.IsNullOrEmpty(id) && await run.StopAsync(id)
                ? Reply(200, "stop and deleted", new { clientId = id })
                : Reply(404, "client not found", new { clientId = id });
        });
        app.MapGet("/client/notify", async (int? n) =>
        {
            if (Count(n) is not { } count) return BadCount(n);
            var (results, errors) = await run.NotifyAsync(count);
            return Reply(200, errors == 0 ? "notified" : $"notified with {errors} errors", results.Count == 1 ? results[0] : results);
        });
        app.MapFallback((HttpContext context) => Results.Json(new ControlReply(404, "unsupported path", new { path = context.Request.Path.Value }), statusCode: 404));

        await app.StartAsync();
        return app;
    }

    private static int? Count(int? n) => n is null ? 1 : n is >= 1 and <= MaxPerRequest ? n : null;

    private static IResult BadCount(int? n) =>
        Results.Json(new ControlReply(400, $"n must be between 1 and {MaxPerRequest}", new { n }), statusCode: 400);

    private static IResult Reply(int status, string message, object? data) => Results.Json(new ControlReply(status, message, data));

    private sealed record ControlReply(int Status, string Message, object? Data);

    private sealed class NoSignals : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
