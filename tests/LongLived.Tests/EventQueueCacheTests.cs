using LongLived.Streams;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace LongLived.Tests;

/// <summary>
/// The pulling agent's cache of one queue (<see cref="EventQueueCache"/>): a consumer that does not take its batches
/// (a gateway that died or lags) must not hold up the other streams of the queue, and the cache stays bounded.
/// </summary>
public sealed class EventQueueCacheTests
{
    private static readonly StreamId A = StreamId.Create("probe", "a"), B = StreamId.Create("probe", "b");
    private long _sequence;

    private EventBatch Batch(StreamId stream, int n) => new(stream, [n], null) { Token = new EventSequenceTokenV2(++_sequence) };

    private static List<int> TakeAll(IQueueCacheCursor cursor)
    {
        var taken = new List<int>();
        while (cursor.MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success) taken.Add((int)((EventBatch)cursor.GetCurrent(out _)!).Events[0]);
        return taken;
    }

    [Fact]
    public void A_consumer_that_takes_nothing_holds_up_no_other_stream_and_the_cache_stays_bounded()
    {
        var missed = new List<StreamId>();
        var cache = new EventQueueCache(4, missed.Add);
        var stuck = cache.GetCacheCursor(A, null); // a dead gateway's consumer: never moves again
        var live = cache.GetCacheCursor(B, null);
        var taken = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            cache.AddToCache([Batch(A, i), Batch(B, i)]);
            Assert.False(cache.IsUnderPressure(), "the cache stopped the queue for a consumer that does not take its batches");
            taken.AddRange(TakeAll(live));
            cache.TryPurgeFromCache(out _);
            Assert.True(cache.Count <= 4, $"the cache holds {cache.Count} batches, beyond its capacity of 4");
        }
        Assert.Equal(Enumerable.Range(0, 50), taken);
        Assert.NotEmpty(missed);
        Assert.All(missed, s => Assert.Equal(A, s)); // only the consumer that did not take them missed any
        GC.KeepAlive(stuck);
    }

    [Fact]
    public void A_lagging_consumer_skips_what_left_the_cache_and_goes_on_in_order_from_the_oldest_held()
    {
        var missed = 0;
        var cache = new EventQueueCache(3, _ => missed++);
        var lagging = cache.GetCacheCursor(A, null);
        cache.AddToCache([.. Enumerable.Range(1, 5).Select(i => Batch(A, i))]);
        Assert.Equal([3, 4, 5], TakeAll(lagging));
        Assert.Equal(2, missed);
        cache.AddToCache([Batch(A, 6)]);
        Assert.Equal([6], TakeAll(lagging));
    }

    [Fact]
    public void A_consumer_that_took_everything_holds_nothing_and_gets_its_next_batch()
    {
        var missed = 0;
        var cache = new EventQueueCache(8, _ => missed++);
        var quiet = cache.GetCacheCursor(A, null);
        var busy = cache.GetCacheCursor(B, null);
        cache.AddToCache([Batch(A, 1)]);
        Assert.Equal([1], TakeAll(quiet));
        for (var i = 0; i < 100; i++)
        {
            cache.AddToCache([Batch(B, i)]);
            TakeAll(busy);
            cache.TryPurgeFromCache(out _);
        }
        Assert.Equal(0, cache.Count); // the quiet consumer's place pins nothing
        cache.AddToCache([Batch(A, 2)]);
        Assert.Equal([2], TakeAll(quiet));
        Assert.Equal(0, missed);
    }

    [Fact]
    public void A_cursor_from_a_token_starts_at_that_batch_and_takes_only_its_stream()
    {
        var cache = new EventQueueCache(16, _ => { });
        var batches = Enumerable.Range(1, 6).Select(i => Batch(i % 2 == 0 ? A : B, i)).ToList();
        cache.AddToCache([.. batches]);
        Assert.Equal([4, 6], TakeAll(cache.GetCacheCursor(A, batches[3].SequenceToken)));
        Assert.Equal([5], TakeAll(cache.GetCacheCursor(B, batches[4].SequenceToken)));
        Assert.Equal([6], TakeAll(cache.GetCacheCursor(A, null))); // no token: from the newest batch
    }

    [Fact]
    public void A_disposed_cursor_pins_nothing()
    {
        var cache = new EventQueueCache(8, _ => { });
        var pin = cache.GetCacheCursor(A, null);
        cache.AddToCache([Batch(A, 1), Batch(B, 2)]);
        cache.TryPurgeFromCache(out _);
        Assert.Equal(2, cache.Count); // held for the consumer that has not taken them
        pin.Dispose();
        cache.TryPurgeFromCache(out _);
        Assert.Equal(0, cache.Count);
    }
}
