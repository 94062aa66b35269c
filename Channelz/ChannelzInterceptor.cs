using Grpc.Core;
using Grpc.Core.Interceptors;

namespace LongLived.Channelz;

/// <summary>Counts gRPC messages (not frames) per socket, for every service and method kind.</summary>
public sealed class ChannelzInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var socket = Socket(context);
        socket?.MessageReceived(); // read before any interceptor runs
        var response = await continuation(request, context);
        socket?.MessageSent();
        return response;
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (Socket(context) is not { } socket) return continuation(request, responseStream, context);
        socket.MessageReceived();
        return continuation(request, new CountingWriter<TResponse>(responseStream, socket), context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (Socket(context) is not { } socket) return await continuation(requestStream, context);
        var response = await continuation(new CountingReader<TRequest>(requestStream, socket), context);
        socket.MessageSent();
        return response;
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (Socket(context) is not { } socket) return continuation(requestStream, responseStream, context);
        return continuation(new CountingReader<TRequest>(requestStream, socket), new CountingWriter<TResponse>(responseStream, socket), context);
    }

    private static ChannelzSocket? Socket(ServerCallContext context) => context.GetHttpContext().Features.Get<ChannelzSocket>();

    private sealed class CountingWriter<T>(IServerStreamWriter<T> inner, ChannelzSocket socket) : IServerStreamWriter<T>
    {
        public WriteOptions? WriteOptions { get => inner.WriteOptions; set => inner.WriteOptions = value; }

        public Task WriteAsync(T message) => Counted(inner.WriteAsync(message));

        public Task WriteAsync(T message, CancellationToken cancellationToken) => Counted(inner.WriteAsync(message, cancellationToken));

        // Most writes complete at once (they only buffer): counted without an async frame per message.
        private Task Counted(Task write)
        {
            if (!write.IsCompletedSuccessfully) return CountedAsync(write);
            socket.MessageSent();
            return write;
        }

        private async Task CountedAsync(Task write)
        {
            await write;
            socket.MessageSent();
        }
    }

    private sealed class CountingReader<T>(IAsyncStreamReader<T> inner, ChannelzSocket socket) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var next = await inner.MoveNext(cancellationToken);
            if (next) socket.MessageReceived();
            return next;
        }
    }
}
