using Google.Protobuf;
using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Gateway.Services;

/// <summary>
/// Binds the Longlived service with request parsers that answer a request protobuf cannot parse with INVALID_ARGUMENT
/// and the parser's reason. Left to itself grpc-dotnet answers UNKNOWN "Exception was thrown by handler." and logs an
/// error per such call (a cheap way to flood a gateway's error log); an RpcException from the parser becomes the
/// call's status, logged at Information. Selected by <see cref="BindServiceMethodAttribute"/> on <see cref="LonglivedService"/>.
/// </summary>
public static class MalformedRequests
{
    /// <summary>For gRPC reflection, which looks for the descriptor beside the bind method.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Longlived.Descriptor;

    /// <summary>The generated binding, each method's request parser wrapped.</summary>
    public static void BindService(ServiceBinderBase binder, Longlived.LonglivedBase service) =>
        Longlived.BindService(new Binder(binder), service);

    private sealed class Binder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);
    }

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        var parse = method.RequestMarshaller.ContextualDeserializer;
        var parser = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return parse(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{method.Name}: the request is not a valid {typeof(TRequest).Name}: {ex.Message}"));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, parser, method.ResponseMarshaller);
    }
}
