using System.Collections.Concurrent;

namespace LongLived.Silo.Grains;

/// <summary>
/// A concurrent map that forgets everything once it holds <paramref name="limit"/> entries: for what can be made again
/// at little cost (shared references, stream ids, when a notice was last sent), keyed by things that come and go
/// (gateways), so that memory stays bounded without a clean-up of its own. The size is read only on a miss or a write.
/// </summary>
internal sealed class BoundedMap<TKey, TValue>(int limit, IEqualityComparer<TKey>? comparer = null) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new(comparer);

    public bool TryGetValue(TKey key, out TValue value) => _entries.TryGetValue(key, out value!);

    public TValue GetOrAdd(TKey key, Func<TKey, TValue> make)
    {
        if (_entries.TryGetValue(key, out var value)) return value;
        MakeRoom();
        return _entries.GetOrAdd(key, make);
    }

    public void Set(TKey key, TValue value)
    {
        MakeRoom();
        _entries[key] = value;
    }

    private void MakeRoom()
    {
        if (_entries.Count >= limit) _entries.Clear();
    }
}
