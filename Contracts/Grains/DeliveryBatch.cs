namespace LongLived.Contracts.Grains;

/// <summary>One delivery stream event: consecutive messages of one channel (a group commit's worth).</summary>
[GenerateSerializer, Immutable, Alias("ll.DeliveryBatch")]
public sealed record DeliveryBatch(ChannelMessage[] Messages);
