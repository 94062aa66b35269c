namespace LongLived.Contracts.Grains;

/// <summary>One numbered message of a channel, as stored in its history and sent on its Orleans stream.</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelMessage")]
public sealed record ChannelMessage(string Channel, ulong Offset, string Epoch, string Data, long PublishedUnixMs)
{
    /// <summary>Set only on history entries published with an idempotency key.</summary>
    [Id(0)] public string? IdempotencyKey { get; init; }
}

/// <summary>
/// A channel's numbering and newest offset. <paramref name="Owner"/>: on a client's own channel, the fence of the
/// client's newest session (0: none known); a live session with a lower fence has been replaced, or, with
/// <paramref name="OwnerLeft"/>, its client unsubscribed.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelHead")]
public sealed record ChannelHead(string Epoch, ulong Head, long Owner = 0, bool OwnerLeft = false);

/// <summary>
/// The answer to a read after a position. When <see cref="Recoverable"/> is false the position cannot be honoured
/// (other epoch, older than the history, or beyond the head) and <see cref="Messages"/> is empty.
/// <see cref="First"/> is the oldest offset history still holds (<see cref="Head"/> + 1 when it holds none).
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.HistoryPage")]
public sealed record HistoryPage(string Epoch, ulong Head, bool Recoverable, IReadOnlyList<ChannelMessage> Messages, ulong First);

/// <summary>A position in a channel: last offset seen in the numbering <paramref name="Epoch"/>.</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelPosition")]
public sealed record ChannelPosition(ulong Offset, string Epoch);
