namespace LongLived.Gateway.Delivery;

/// <summary>
/// The hub's channels by join id, found with one array read: a delivery batch names the join it is for
/// (<see cref="Contracts.Grains.DeliveryBatch.Join"/>), so the hub need not hash and compare the channel's name, whose
/// dictionary bucket, node and key are cold by the time a channel's next message comes (that lookup was 4.9 % of a
/// gateway's samples with 10,000 own channels). A join id is a sequence that only grows (see <see cref="ChannelHub.HubChannel.JoinId"/>) above
/// a slot in its low <see cref="SlotBits"/> bits. A slot is reused once its channel closed; a batch for an older join
/// finds another id there (or nothing), and the hub looks the channel up by name, as it did before.
/// </summary>
public sealed class JoinSlots
{
    public const int SlotBits = 24;
    private const long SlotMask = (1L << SlotBits) - 1;
    private readonly Lock _lock = new();
    private readonly Stack<int> _free = new();
    private ChannelHub.HubChannel?[] _channels = new ChannelHub.HubChannel?[1024];
    private int _used; // slots handed out so far (freed ones are in _free)
    private long _sequence;

    /// <summary>A new entry for <paramref name="name"/>, in a slot of its own (past 2^24 open channels it has none: found by name).</summary>
    public ChannelHub.HubChannel Make(string name)
    {
        lock (_lock)
        {
            var slot = _free.Count > 0 ? _free.Pop() : _used <= SlotMask ? _used++ : -1;
            var entry = new ChannelHub.HubChannel(name, (++_sequence << SlotBits) | (slot < 0 ? SlotMask : slot), slot);
            if (slot < 0) return entry;
            if (slot >= _channels.Length)
            {
                var larger = new ChannelHub.HubChannel?[Math.Min(_channels.Length * 2, (int)SlotMask + 1)];
                Array.Copy(_channels, larger, _channels.Length);
                Volatile.Write(ref _channels, larger);
            }
            Volatile.Write(ref _channels[slot], entry);
            return entry;
        }
    }

    /// <summary>Frees <paramref name="entry"/>'s slot: it closed, or never made it into the hub.</summary>
    public void Release(ChannelHub.HubChannel entry)
    {
        if (entry.Slot < 0) return;
        lock (_lock)
        {
            if (!ReferenceEquals(_channels[entry.Slot], entry)) return;
            _channels[entry.Slot] = null;
            _free.Push(entry.Slot);
        }
    }

    /// <summary>The open channel whose join is <paramref name="joinId"/>, if any.</summary>
    public ChannelHub.HubChannel? Find(long joinId)
    {
        var channels = Volatile.Read(ref _channels);
        var slot = joinId & SlotMask;
        return slot < channels.Length && channels[slot] is { } entry && entry.JoinId == joinId ? entry : null;
    }
}
