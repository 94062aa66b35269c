using Grpc.Core;
using Grpc.Core.Interceptors;
using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Services;

/// <summary>
/// Turns failures reaching the cluster into gRPC statuses a client can act on: the cluster unreachable or timing out
/// is UNAVAILABLE (resume elsewhere / retry), anything unexpected is INTERNAL with the detail in the log, not the status.
/// </summary>
public sealed class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } mapped)
        {
            throw mapped;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } mapped)
        {
            throw mapped;
        }
    }

    private RpcException? Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException:
                return null;
            case Exception when context.CancellationToken.IsCancellationRequested:
                return null; // the client went away; nobody reads the status
            case StorageUnavailableException:
                logger.LogWarning("{Method}: {Error}", context.Method, ex.Message);
                return new RpcException(new Status(StatusCode.Unavailable, ex.Message));
            case ArgumentException:
                return new RpcException(new Status(StatusCode.InvalidArgument, ex.Message)); // a grain refused the client's input
            case TimeoutException or OrleansException:
                logger.LogWarning("{Method}: cluster unavailable: {Error}", context.Method, ex.Message);
                return new RpcException(new Status(StatusCode.Unavailable, $"cluster unavailable: {ex.GetType().Name}"));
            default:
                logger.LogError(ex, "{Method} failed", context.Method);
                return new RpcException(new Status(StatusCode.Internal, "internal error"));
        }
    }
}
