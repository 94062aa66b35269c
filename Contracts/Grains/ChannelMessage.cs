namespace LongLived.Contracts.Grains;

/// <summary>One numbered message of a channel, as stored in its history and sent on its Orleans stream.</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelMessage")]
public sealed record ChannelMessage(string Channel, ulong Offset, string Epoch, string Data, long PublishedUnixMs)
{
    /// <summary>Set only on history entries published with an idempotency key.</summary>
    [Id(0)] public string? IdempotencyKey { get; init; }
}
