using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LongLived.Channelz;

/// <summary>
/// Where channelz learns about traffic: a Kestrel connection middleware registers each accepted connection as a socket
/// (and puts it in the connection's features), and an HTTP middleware counts each gRPC request as a call on the server
/// and a stream on its socket, with its outcome read from what was actually sent (grpc-status, or an abort).
/// </summary>
public static class ChannelzHooks
{
    /// <summary>Kestrel connection middleware for a gRPC listener.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Connections(ChannelzRegistry registry, ChannelzServer server) =>
        next => async connection =>
        {
            var socket = registry.AddSocket(server, connection.LocalEndPoint, connection.RemoteEndPoint);
            connection.Features.Set(socket);
            try
            {
                await next(connection);
            }
            finally
            {
                registry.RemoveSocket(server, socket);
            }
        };

    /// <summary>HTTP middleware: counts gRPC calls and streams.</summary>
    public static Func<HttpContext, RequestDelegate, Task> Calls(ChannelzServer server) => async (context, next) =>
    {
        var socket = context.Features.Get<ChannelzSocket>();
        if (socket is null || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            await next(context);
            return;
        }
        server.Calls.CallStarted();
        socket.StreamStarted();
        var failed = true;
        try
        {
            await next(context);
            failed = false;
        }
        finally
        {
            // The stream succeeded if the server ended it (whatever the status); the call only if that status was OK.
            var aborted = failed || context.RequestAborted.IsCancellationRequested;
            Interlocked.Increment(ref aborted ? ref socket.StreamsFailed : ref socket.StreamsSucceeded);
            server.Calls.CallEnded(!aborted && GrpcStatus(context) == "0");
        }
    };

    /// <summary>The grpc-status sent: in the trailers, or in the headers of a trailers-only response.</summary>
    private static string? GrpcStatus(HttpContext context)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        if (trailers is not null && trailers.TryGetValue("grpc-status", out var status)) return status;
        return context.Response.Headers.TryGetValue("grpc-status", out status) ? status.ToString() : null;
    }
}
