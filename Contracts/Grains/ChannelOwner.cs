namespace LongLived.Contracts.Grains;

/// <summary>The fence of a client's newest session, and whether it was an Unsubscribe (see <see cref="ChannelHead.Owner"/>).</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelOwner")]
public sealed record ChannelOwner(long Fence, bool Left);
