using Grpc.Core;
using LongLived.Contracts;
using Microsoft.AspNetCore.Http.Features;

namespace LongLived.Gateway.Resume;

/// <summary>
/// A Subscribe call's response stream, bound to its session's token only while a write waits. grpc-dotnet registers a
/// token given to <c>WriteAsync</c> on every write (3 % of a fan-out gateway's CPU, which a bare relay writing without
/// one does not pay); here a write that completes at once registers nothing, and one that waits (the client's
/// flow-control window is full) resets the call if the session ends first, as grpc-dotnet does with the token.
/// </summary>
internal sealed class SessionWriter(IServerStreamWriter<Response> inner, HttpContext http) : IServerStreamWriter<Response>
{
    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(Response message) => inner.WriteAsync(message);

    public Task WriteAsync(Response message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = inner.WriteAsync(message);
        return write.IsCompleted ? write : WaitAsync(write, cancellationToken);
    }

    private async Task WaitAsync(Task write, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static context => Reset((HttpContext)context!), http)) await write;
    }

    /// <summary>Resets the stream with CANCEL, as grpc-dotnet does for a cancelled write (the client reads CANCELLED).</summary>
    private static void Reset(HttpContext context)
    {
        const int Cancel = 0x8; // HTTP/2 error code
        if (context.Features.Get<IHttpResetFeature>() is { } reset) reset.Reset(Cancel);
        else context.Abort();
    }
}
