namespace LongLived.Contracts.Grains;

/// <summary>
/// A channel's epoch and newest offset. <paramref name="Owner"/>: on a client's own channel, the fence of the
/// client's newest session (0: none known); a live session with a lower fence has been replaced, or, with
/// <paramref name="OwnerLeft"/>, its client unsubscribed.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelHead")]
public sealed record ChannelHead(string Epoch, ulong Head, long Owner = 0, bool OwnerLeft = false);
