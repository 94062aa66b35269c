using System.Collections.Concurrent;
using LongLived.Contracts.Grains;
using LongLived.Streams;
using LongLived.Streams.Hosting;
using Orleans.Serialization;
using Orleans.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// Puts a channel's delivery batches on the delivery stream provider's queues, as Orleans' stream producer does
/// (<see cref="IQueueAdapter.QueueMessageBatchAsync"/> with the caller's request context), but once per silo: a grain's
/// <c>GetStream</c> gives every channel activation its own stream directory and stream objects, about a kilobyte per
/// client at 10,000 clients, for a producer that only makes this call. To a gateway that listens on its observer
/// (<see cref="GatewayRoute.ByObserver"/>) the batches go to its outbox on this silo instead (<see cref="GatewayOutbox"/>).
/// </summary>
public sealed class DeliveryQueues(IServiceProvider services, DeepCopier copier, IGrainFactory grains, DeliveryStreamOptions options)
{
    private IQueueAdapter? _adapter; // kept once made: a failure to make it fails that send and is tried again by the next
    // One StreamId (and its key bytes) per gateway shard, shared by every channel joined to it, instead of one per join
    // (memory per client).
    private readonly BoundedMap<string, StreamId> _streams = new(4096, StringComparer.Ordinal);
    // By gateway id. Not a BoundedMap: an outbox holds the order of its gateway's batches, so only an idle one may go.
    private readonly ConcurrentDictionary<string, GatewayOutbox> _outboxes = new(StringComparer.Ordinal);
    private const int IdleOutboxesKept = 1024;

    public StreamId Stream(GatewayRoute gateway, string channel) =>
        _streams.GetOrAdd(DeliveryStreams.Key(gateway, channel), key => StreamId.Create(DeliveryStreams.GatewayNamespace, key));

    /// <summary>
    /// Queues <paramref name="batch"/> for <paramref name="gateway"/> on <paramref name="stream"/>: it is in its queue's
    /// (or the gateway's) outbox, in order, when this returns. Not awaited by the channel: <paramref name="observer"/> is
    /// told if the send fails, on whatever thread finds out.
    /// </summary>
    public void Send(GatewayRoute gateway, StreamId stream, DeliveryBatch batch, ISendObserver observer)
    {
        if (gateway.ByObserver)
        {
            SendToGateway(gateway.GatewayId, batch, observer);
        }
        else if (_adapter is EventQueueAdapterFactory queues)
        {
            queues.QueueObserved(stream, batch, RequestContextExtensions.Export(copier), observer);
        }
        else
        {
            // Orleans' memory streams (Orleans:StreamProvider=memory), or the first send, while the adapter is made.
            var sent = _adapter is { } adapter ? Queue(adapter, stream, batch) : CreateAndSendAsync(stream, batch);
            if (sent.IsCompletedSuccessfully) return;
            sent.ContinueWith(static (task, state) => ((ISendObserver)state!).SendFailed(task.Exception!.GetBaseException()),
                observer, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void SendToGateway(string gatewayId, DeliveryBatch batch, ISendObserver observer)
    {
        while (true)
        {
            if (!_outboxes.TryGetValue(gatewayId, out var outbox))
            {
                // Gateway ids are per process, so outboxes of gateways long gone pile up: drop the idle ones now and then.
                if (_outboxes.Count >= IdleOutboxesKept) DropIdleOutboxes();
                outbox = _outboxes.GetOrAdd(gatewayId, id => new GatewayOutbox(id, grains, options.StreamQueueCapacity));
            }
            if (outbox.TryQueue(batch, batch.Messages.Length, observer)) return;
            _outboxes.TryRemove(new KeyValuePair<string, GatewayOutbox>(gatewayId, outbox)); // retired meanwhile
        }
    }

    private void DropIdleOutboxes()
    {
        foreach (var (id, outbox) in _outboxes)
        {
            if (outbox.TryRetire()) _outboxes.TryRemove(new KeyValuePair<string, GatewayOutbox>(id, outbox));
        }
    }

    private async Task CreateAndSendAsync(StreamId stream, DeliveryBatch batch)
    {
        _adapter ??= await services.GetRequiredKeyedService<IQueueAdapterFactory>(DeliveryStreams.Provider).CreateAdapter(CancellationToken.None);
        await Queue(_adapter, stream, batch);
    }

    private Task Queue(IQueueAdapter adapter, StreamId stream, DeliveryBatch batch) =>
        adapter.QueueMessageBatchAsync(stream, [batch], null, RequestContextExtensions.Export(copier));
}
