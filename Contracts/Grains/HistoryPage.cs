namespace LongLived.Contracts.Grains;

/// <summary>
/// The answer to a read after a position. When <see cref="Recoverable"/> is false the position cannot be honoured
/// (other epoch, older than the history, or beyond the head) and <see cref="Messages"/> is empty.
/// <see cref="First"/> is the oldest offset history still holds (<see cref="Head"/> + 1 when it holds none).
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.HistoryPage")]
public sealed record HistoryPage(string Epoch, ulong Head, bool Recoverable, IReadOnlyList<ChannelMessage> Messages, ulong First)
{
    /// <summary>
    /// Whether a read after <paramref name="afterOffset"/> of <paramref name="epoch"/> can be served by a channel in
    /// epoch <paramref name="current"/> whose history holds <paramref name="first"/>..<paramref name="head"/>: the same
    /// epoch, not past the head, not older than the history. A position without an epoch is recoverable only from
    /// offset 0 ("seen nothing"): an offset of an unknown epoch may belong to one that was lost (docs/resume.md).
    /// </summary>
    public static bool CanServe(ulong afterOffset, string? epoch, string current, ulong head, ulong first) =>
        (epoch == current || (afterOffset == 0 && string.IsNullOrEmpty(epoch))) && afterOffset <= head && afterOffset + 1 >= first;
}
