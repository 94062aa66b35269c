using Google.Protobuf;
using Grpc.Core;
using LongLived.Contracts;
using LongLived.Gateway.Delivery;

namespace LongLived.Gateway.Services;

/// <summary>
/// Binds the Longlived service with the generated methods' marshallers wrapped, selected by
/// <see cref="BindServiceMethodAttribute"/> on <see cref="LonglivedService"/>:
/// <list type="bullet">
/// <item>a request protobuf cannot parse is INVALID_ARGUMENT with the parser's reason. Left to itself grpc-dotnet answers
/// UNKNOWN "Exception was thrown by handler." and logs an error per such call (a cheap way to flood a gateway's error
/// log); an RpcException from the parser becomes the call's status, logged at Information;</item>
/// <item>a response encoded once for many calls (<see cref="EncodedResponses"/>) is written as those bytes.</item>
/// </list>
/// </summary>
public static class LonglivedBinding
{
    /// <summary>For gRPC reflection, which looks for the descriptor beside the bind method.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Longlived.Descriptor;

    /// <summary>The generated binding, each method's marshallers wrapped.</summary>
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
        var write = method.ResponseMarshaller.ContextualSerializer;
        var writer = new Marshaller<TResponse>((response, context) =>
        {
            if (response is Response shared && EncodedResponses.TryGetBytes(shared, out var bytes)) context.Complete(bytes);
            else write(response, context);
        }, method.ResponseMarshaller.ContextualDeserializer);
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, parser, writer);
    }
}
