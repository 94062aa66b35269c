using System.Threading.Channels;
using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Bench.BareRelay;

/// <summary>Subscribe relays the client's own channel and its topics from memory; Publish numbers and fans out.</summary>
public sealed class BareLonglivedService(MemoryTopics topics) : Longlived.LonglivedBase
{
    private static readonly WriteOptions BufferHint = new(WriteFlags.BufferHint);

    public override async Task Subscribe(Request request, IServerStreamWriter<Response> responseStream, ServerCallContext context)
    {
        // The same per-stream bound as the gateway's default (Gateway:StreamBufferCapacity).
        var buffer = Channel.CreateBounded<Response>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        var joined = new[] { $"client/{request.Id}" }.Concat(request.Topics).Select(topics.Get).ToArray();
        foreach (var topic in joined) topic.Add(buffer.Writer);
        try
        {
            await context.WriteResponseHeadersAsync([]);
            // The wait takes no token (a cancellable wait allocates and registers each time): the call's end completes the buffer.
            using var stop = context.CancellationToken.UnsafeRegister(static b => ((Channel<Response>)b!).Writer.TryComplete(), buffer);
            var reader = buffer.Reader;
            // One flush per drained buffer: while more messages are queued, a write only buffers (BufferHint).
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var message))
                {
                    responseStream.WriteOptions = reader.Count > 0 ? BufferHint : null;
                    await responseStream.WriteAsync(message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            foreach (var topic in joined) topic.Remove(buffer.Writer);
        }
    }

    public override Task<PublishResponse> Publish(PublishRequest request, ServerCallContext context)
    {
        var message = topics.Get(request.Channel).Publish(request.Data);
        return Task.FromResult(new PublishResponse { Offset = message.Offset, Epoch = message.Epoch, PublishTimeUnixMs = message.PublishTimeUnixMs });
    }

    public override Task<Response> NotifyReceived(Request request, ServerCallContext context) => Task.FromResult(new Response { Data = $"NotifyReceived: {request.Id}" });

    public override Task<Response> Unsubscribe(Request request, ServerCallContext context) => Task.FromResult(new Response { Data = $"Unsubscribed: {request.Id}" });
}
