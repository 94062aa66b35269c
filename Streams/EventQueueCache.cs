using Orleans.Streams;

namespace LongLived.Streams;

/// <summary>
/// A pulling agent's cache of one queue: the batches it read, from which each stream's consumers take theirs.
/// Orleans' <c>SimpleQueueCache</c> stops the agent reading its queue while its oldest batches wait for a consumer, so
/// one gateway that dies (its delivery call unanswered until Orleans drops the client, one to two minutes) or lags holds
/// up every stream of the queue, and the queue fills. Here nobody waits for a laggard: the cache holds at most
/// <c>capacity</c> batches, and a batch pushed out before a consumer took it is skipped by that consumer; its gateway
/// finds the hole by offset (or head check) and reads it from history. Delivery is the fast path, history the truth.
/// Used only by its agent, one turn at a time: no locks.
/// </summary>
public sealed class EventQueueCache(int capacity, Action<StreamId> missed) : IQueueCache
{
    private readonly IBatchContainer?[] _ring = new IBatchContainer?[Math.Max(capacity, 1)];
    private readonly Dictionary<StreamId, List<Cursor>> _cursors = [];
    private long _first, _next; // the batches held are [_first, _next), numbered in the order they were added

    public int Count => (int)(_next - _first);

    /// <summary>A quarter of the capacity per read: one read never pushes out everything a lagging consumer has yet to take.</summary>
    public int GetMaxAddCount() => Math.Max(_ring.Length / 4, 1);

    /// <summary>Never: a consumer that does not take its batches loses them, it does not stop the others'.</summary>
    public bool IsUnderPressure() => false;

    public void AddToCache(IList<IBatchContainer> messages)
    {
        foreach (var batch in messages)
        {
            if (Count == _ring.Length) PushOutOldest();
            _ring[_next % _ring.Length] = batch;
            if (_cursors.TryGetValue(batch.StreamId, out var cursors))
            {
                foreach (var cursor in cursors) cursor.Arrived(_next);
            }
            _next++;
        }
    }

    /// <summary>
    /// Drops what every consumer has taken. Returns false: the receiver confirms by sequence on its next read, so it
    /// needs no list of what left the cache.
    /// </summary>
    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        purgedItems = null!;
        var keep = _next;
        foreach (var cursors in _cursors.Values)
        {
            foreach (var cursor in cursors) keep = Math.Min(keep, cursor.Pins);
        }
        while (_first < keep) _ring[_first++ % _ring.Length] = null;
        return false;
    }

    /// <summary>
    /// A cursor at the first batch whose token is <paramref name="token"/> or later (as Orleans' own cache does), or,
    /// without a token, at the newest batch. A token older than every batch held starts at the oldest, without the
    /// <see cref="QueueCacheMissException"/> Orleans' cache throws: the provider is not rewindable, so only the agent's
    /// own pin cursors and handshakes ask for a token, and a gateway fills anything older from history.
    /// </summary>
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        var position = _next;
        if (token is null) position = Math.Max(_next - 1, _first);
        else while (position > _first && !At(position - 1).SequenceToken.Older(token)) position--;
        var cursor = new Cursor(this, streamId, position);
        if (!_cursors.TryGetValue(streamId, out var cursors)) _cursors[streamId] = cursors = [];
        cursors.Add(cursor);
        return cursor;
    }

    private IBatchContainer At(long position) => _ring[position % _ring.Length]!;

    private void PushOutOldest()
    {
        var oldest = At(_first);
        if (_cursors.TryGetValue(oldest.StreamId, out var cursors) && cursors.Any(c => c.Pins <= _first)) missed(oldest.StreamId);
        _ring[_first++ % _ring.Length] = null;
    }

    private void Remove(Cursor cursor)
    {
        if (!_cursors.TryGetValue(cursor.StreamId, out var cursors)) return;
        cursors.Remove(cursor);
        if (cursors.Count == 0) _cursors.Remove(cursor.StreamId);
    }

    /// <summary>
    /// One consumer's place: the next batch to look at. Once it has taken everything of its stream it waits, and holds
    /// nothing; the next batch of its stream sets it there again.
    /// </summary>
    private sealed class Cursor(EventQueueCache cache, StreamId streamId, long position) : IQueueCacheCursor
    {
        private const long Waiting = long.MaxValue;
        private long _position = position == cache._next ? Waiting : position;
        private IBatchContainer? _current;

        public StreamId StreamId => streamId;

        /// <summary>The oldest batch this cursor may still take (<see cref="long.MaxValue"/> while it waits).</summary>
        public long Pins => _position;

        public void Arrived(long position)
        {
            if (_position == Waiting) _position = position;
        }

        public bool MoveNext()
        {
            _current = null;
            if (_position == Waiting) return false;
            _position = Math.Max(_position, cache._first); // what was pushed out before this consumer took it is skipped
            while (_position < cache._next)
            {
                var batch = cache.At(_position++);
                if (batch.StreamId.Equals(streamId))
                {
                    _current = batch;
                    return true;
                }
            }
            _position = Waiting;
            return false;
        }

        public IBatchContainer? GetCurrent(out Exception? exception)
        {
            exception = null;
            return _current;
        }

        /// <summary>Nothing to do: a batch of this stream sets a waiting cursor as it arrives (<see cref="Arrived"/>).</summary>
        public void Refresh(StreamSequenceToken token) { }

        public void RecordDeliveryFailure() { }

        public void Dispose()
        {
            _current = null;
            cache.Remove(this);
        }
    }
}
