using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using LongLived.Client;
using LongLived.Client.Positions;

namespace LongLived.Tests.ClientLibrary;

/// <summary>Publishing through the library, against the real cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientPublishTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_publish_whose_reply_was_lost_is_retried_with_the_same_key_and_appended_once()
    {
        var topic = TestStreams.NewId("lib-once");
        var lose = new LoseFirstPublishReply();
        var store = new InMemoryPositionStore();
        await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o =>
        {
            o.Interceptors.Add(lose);
            o.PositionStore = store;
        });

        var once = await client.PublishAsync(topic, "once");
        await client.PublishAsync(topic, "after");

        var keys = lose.Keys.ToArray();
        Assert.Equal(3, keys.Length); // the first publish twice (its reply lost once), the second once
        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[0], keys[2]);
        var id = TestStreams.NewId("lib");
        await store.SaveAsync(id, new Dictionary<string, ChannelPosition> { [topic] = new(0, "") }, default);
        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got => got.Any(m => m.Data == "after"));
        Assert.Equal(["once", "after"], read.Where(m => m.Channel == topic).Select(m => m.Data));
        Assert.Equal(1ul, once.Offset);
    }

    /// <summary>Lets the first Publish reach the gateway and append, then reports its reply lost (UNAVAILABLE), as a cut connection would.</summary>
    private sealed class LoseFirstPublishReply : Interceptor
    {
        private int _publishes;

        public ConcurrentQueue<string> Keys { get; } = new();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, context);
            if (context.Method.Name != "Publish") return call;
            var message = (IMessage)request;
            Keys.Enqueue((string)message.Descriptor.FindFieldByName("idempotency_key").Accessor.GetValue(message));
            if (Interlocked.Increment(ref _publishes) != 1) return call;
            return new AsyncUnaryCall<TResponse>(LoseAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private static async Task<TResponse> LoseAsync<TResponse>(Task<TResponse> reply)
        {
            await reply; // appended at the gateway
            throw new RpcException(new Status(StatusCode.Unavailable, "the reply was lost on the way"));
        }
    }
}
