using LongLived.Contracts.Grains;

namespace LongLived.Silo.History;

/// <summary>
/// Where a channel's numbering and history outlive its activation. The grain keeps the retained tail in memory
/// (<see cref="HistoryRing"/>) and serves every read from it; a log only has to make appends durable and give the
/// tail back to the next activation. Each append is O(batch), never O(history).
/// </summary>
public interface IChannelLog
{
    /// <summary>The stored numbering (null when there is none, or it cannot be trusted) and its retained tail, oldest first.</summary>
    Task<StoredChannel?> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Records a new numbering at head 0 and drops any old history.</summary>
    Task StartEpochAsync(string epoch, CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="batch"/> (consecutive offsets) durable; throws <see cref="StorageUnavailableException"/> when it cannot.</summary>
    ValueTask AppendAsync(string epoch, IReadOnlyList<ChannelMessage> batch, ulong oldestRetained);

    /// <summary>
    /// Subscribers are attached: a numbering that expires when its channel is silent (Redis) must not expire while
    /// it is being listened to, or the next activation would start a new epoch and tell them of a loss that never was.
    /// Best effort and cheap: called with every join.
    /// </summary>
    void KeepNumbering();

    /// <summary>The activation ends gracefully with this tail and head.</summary>
    Task CloseAsync(string epoch, ulong head, HistoryRing ring, CancellationToken cancellationToken);
}

/// <summary>A channel as its log holds it.</summary>
public sealed record StoredChannel(string Epoch, ulong Head, IReadOnlyList<ChannelMessage> Tail);
