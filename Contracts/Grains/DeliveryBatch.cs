namespace LongLived.Contracts.Grains;

/// <summary>
/// One delivery event: consecutive messages of one channel (a group commit's worth), and the join of the gateway it is
/// sent to (the join id the gateway gave <see cref="IChannelGrain.Join"/>; 0: none named), by which the gateway finds the
/// channel without looking up its name.
/// </summary>
[Immutable, Alias("ll.DeliveryBatch")] // serialized by DeliveryBatchCodec
public sealed record DeliveryBatch(ChannelMessage[] Messages, long Join = 0);
