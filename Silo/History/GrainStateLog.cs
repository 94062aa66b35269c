using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;

namespace LongLived.Silo.History;

/// <summary>
/// Embedded mode (in-memory grain storage): the history lives in the activation and is written to grain storage
/// once, when the activation ends. An activation that ended without that write (its silo died) leaves the flag
/// <see cref="ChannelState.Open"/> set, and the next activation starts a new epoch: clients are told what was lost.
/// </summary>
public sealed class GrainStateLog(IPersistentState<ChannelState> state, string channel) : IChannelLog
{
    private ChannelState S => state.State;

    public async Task<StoredChannel?> OpenAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(S.Epoch) || S.Open) return null; // new, or the last activation crashed: a new epoch
        var offset = S.Head - (ulong)S.Entries.Count;
        var stored = new StoredChannel(S.Epoch, S.Head, [.. S.Entries.Select(e => e.ToMessage(channel, ++offset, S.Epoch))]);
        S.Open = true; // cleared by CloseAsync: still set at the next activation means this one crashed
        S.Entries = [];
        await state.WriteOrFailAsync($"channel {channel}, activation", cancellationToken);
        return stored;
    }

    /// <summary>
    /// Not written: what storage holds already makes the next activation start a new epoch if this one ends without
    /// <see cref="CloseAsync"/> (nothing stored, or an activation left open), so a new channel costs no write.
    /// </summary>
    public Task StartEpochAsync(string epoch, CancellationToken cancellationToken)
    {
        S.Epoch = epoch;
        S.Head = 0;
        S.Entries = [];
        return Task.CompletedTask;
    }

    public ValueTask AppendAsync(string epoch, IReadOnlyList<ChannelMessage> batch, ulong oldestRetained) => ValueTask.CompletedTask;

    public void KeepNumbering() { } // grain state does not expire

    public async Task CloseAsync(string epoch, ulong head, HistoryRing ring, CancellationToken cancellationToken)
    {
        S.Epoch = epoch;
        S.Head = head;
        S.Entries = [.. ring.All().Select(StoredEntry.From)];
        S.Open = false;
        await state.WriteOrFailAsync($"channel {channel}, deactivation", cancellationToken);
    }
}
