namespace LongLived.Contracts.Grains;

/// <summary>A position in a channel: the last offset seen in epoch <paramref name="Epoch"/>.</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelPosition")]
public sealed record ChannelPosition(ulong Offset, string Epoch);
