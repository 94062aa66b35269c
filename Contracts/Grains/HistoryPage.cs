namespace LongLived.Contracts.Grains;

/// <summary>
/// The answer to a read after a position. When <see cref="Recoverable"/> is false the position cannot be honoured
/// (other epoch, older than the history, or beyond the head) and <see cref="Messages"/> is empty.
/// <see cref="First"/> is the oldest offset history still holds (<see cref="Head"/> + 1 when it holds none).
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.HistoryPage")]
public sealed record HistoryPage(string Epoch, ulong Head, bool Recoverable, IReadOnlyList<ChannelMessage> Messages, ulong First);
