using Orleans.Concurrency;

namespace LongLived.Contracts.Grains;

/// <summary>
/// Implemented by each gateway; lets a client grain end a session wherever it lives, a channel grain say it restarted,
/// and, with <c>Orleans:Delivery=observer</c>, a silo deliver batches without a stream.
/// </summary>
[Alias("ll.IGatewayObserver")]
public interface IGatewayObserver : IGrainObserver
{
    [OneWay, Alias("EndSession")]
    Task EndSession(string clientId, Guid sessionId, SessionEndReason reason);

    /// <summary>
    /// <paramref name="channel"/> started a new activation, which knows no joins, or could not send a batch on a delivery
    /// stream: a gateway with local subscribers of it joins again and fills from history what it lacks.
    /// </summary>
    [OneWay, Alias("ChannelRestarted")]
    Task ChannelRestarted(string channel);

    /// <summary>
    /// Batches on delivery stream <paramref name="shard"/> of gateway <paramref name="gatewayId"/> left a silo's stream
    /// cache before that gateway took them (it lagged). That gateway checks every channel the stream carries: a lost
    /// batch may have been a channel's last for a while. Sent to every gateway; the others ignore it.
    /// </summary>
    [OneWay, Alias("DeliveryMissed")]
    Task DeliveryMissed(string gatewayId, uint shard);

    /// <summary>
    /// Batches of channels this gateway joined, from one silo, in the order its channels queued them: the delivery path
    /// of <c>Orleans:Delivery=observer</c> (beside the delivery streams, to measure them against). Not one-way: the
    /// silo's outbox sends its next call when this one returns, so what queues meanwhile rides along, and a gateway
    /// that does not answer fills a bounded outbox rather than a silo's send queue.
    /// </summary>
    [Alias("Deliver")]
    Task Deliver([Immutable] DeliveryBatch[] batches);
}
