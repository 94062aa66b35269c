using LongLived.Contracts.Grains;

namespace LongLived.Silo.History;

/// <summary>
/// A channel's retained messages in memory, consecutive offsets oldest first: append, trim and read by offset are
/// O(1) (a circular buffer that grows by doubling, so an idle channel costs a few bytes, not its cap).
/// </summary>
/// <remarks>
/// Messages are held as their fields (<see cref="Entry"/>), not as the <see cref="ChannelMessage"/> appended: that
/// object would outlive the young generation (every retained message is promoted, so a silo with 10,000 channels at
/// 1 msg/s spent 25–35 ms per gen0 collection copying them), while its strings are usually old already (the channel's
/// name and epoch, a generator's data). A read builds the messages it returns.
/// </remarks>
public sealed class HistoryRing
{
    private Entry[] _items = [];
    private int _start, _count;
    private Dictionary<string, ulong>? _keys; // idempotency key → offset; made for the first key (most channels have none)

    public int Count => _count;
    /// <summary>The oldest offset held; meaningless when empty.</summary>
    public ulong First => _count == 0 ? 0 : this[0].Offset;
    public ChannelMessage? Newest => _count == 0 ? null : this[_count - 1].ToMessage();

    private ref Entry this[int index] => ref _items[(_start + index) % _items.Length];

    public void Add(ChannelMessage message)
    {
        if (_count > 0 && message.Offset != this[_count - 1].Offset + 1)
            throw new InvalidOperationException($"offset {message.Offset} does not follow {this[_count - 1].Offset}");
        if (_count == _items.Length) Grow();
        _items[(_start + _count) % _items.Length] = new Entry(message);
        _count++;
        if (message.IdempotencyKey is { } key) (_keys ??= new(StringComparer.Ordinal))[key] = message.Offset;
    }

    /// <summary>The message at <paramref name="offset"/>, if held.</summary>
    public ChannelMessage? At(ulong offset) => _count == 0 || offset < First || offset > First + (ulong)_count - 1 ? null : this[(int)(offset - First)].ToMessage();

    /// <summary>The newest message published with <paramref name="key"/>, if still held.</summary>
    public ChannelMessage? WithKey(string key) => _keys is not null && _keys.TryGetValue(key, out var offset) ? At(offset) : null;

    /// <summary>Up to <paramref name="max"/> messages after <paramref name="offset"/>, none past <paramref name="last"/>.</summary>
    public List<ChannelMessage> After(ulong offset, ulong last, int max)
    {
        var page = new List<ChannelMessage>();
        for (var o = Math.Max(offset + 1, First); o <= last && page.Count < max; o++)
        {
            if (At(o) is { } message) page.Add(message);
            else break;
        }
        return page;
    }

    /// <summary>Drops the oldest messages beyond <paramref name="maxCount"/> and those published before <paramref name="oldestUnixMs"/>.</summary>
    public void Trim(int maxCount, long oldestUnixMs)
    {
        while (_count > 0 && (_count > maxCount || this[0].PublishedUnixMs < oldestUnixMs)) RemoveOldest();
        if (_count == 0) _start = 0;
    }

    /// <summary>Drops the newest messages after <paramref name="offset"/> (a failed write rolled back).</summary>
    public void TruncateAfter(ulong offset)
    {
        while (_count > 0 && this[_count - 1].Offset > offset)
        {
            var index = (_start + _count - 1) % _items.Length;
            Forget(_items[index]);
            _items[index] = default;
            _count--;
        }
    }

    public IEnumerable<ChannelMessage> All()
    {
        for (var i = 0; i < _count; i++) yield return this[i].ToMessage();
    }

    private void RemoveOldest()
    {
        Forget(_items[_start]);
        _items[_start] = default;
        _start = (_start + 1) % _items.Length;
        _count--;
    }

    private void Forget(in Entry entry)
    {
        if (entry.Key is { } key && _keys is not null && _keys.TryGetValue(key, out var offset) && offset == entry.Offset) _keys.Remove(key);
    }

    private void Grow()
    {
        var larger = new Entry[Math.Max(4, _items.Length * 2)];
        for (var i = 0; i < _count; i++) larger[i] = this[i];
        _items = larger;
        _start = 0;
    }

    /// <summary>A retained message's fields.</summary>
    private readonly struct Entry(ChannelMessage message)
    {
        public readonly ulong Offset = message.Offset;
        public readonly long PublishedUnixMs = message.PublishedUnixMs;
        public readonly string? Key = message.IdempotencyKey;
        private readonly string _channel = message.Channel, _epoch = message.Epoch, _data = message.Data;

        public ChannelMessage ToMessage() => new(_channel, Offset, _epoch, _data, PublishedUnixMs) { IdempotencyKey = Key };
    }
}
