using LongLived.Contracts.Grains;
using LongLived.Gateway.Cluster;
using LongLived.Streams;

namespace LongLived.Tests;

/// <summary>
/// The group commit's outbox may be dropped only while idle: a second outbox for the same receiver while the first still
/// sends would let two calls overtake each other. And a gateway asked to take deliveries it does not listen for says so.
/// </summary>
public sealed class OutboxTests
{
    /// <summary>An outbox whose calls complete when the test says.</summary>
    private sealed class HeldOutbox(int capacity = 100) : Outbox<int>("held", capacity)
    {
        public List<List<int>> Calls { get; } = [];
        public TaskCompletionSource Release { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task CallAsync(List<int> items, int events)
        {
            lock (Calls) Calls.Add([.. items]);
            return Release.Task;
        }
    }

    [Fact]
    public async Task A_busy_outbox_is_not_retired_and_an_idle_one_takes_nothing_more()
    {
        var outbox = new HeldOutbox();
        var first = outbox.Queue(1, 1);
        var second = outbox.Queue(2, 1);
        Assert.False(outbox.TryRetire()); // a call is in flight, another waits

        outbox.Release.SetResult();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2], outbox.Calls.SelectMany(c => c));

        for (var i = 0; i < 100 && !outbox.TryRetire(); i++) await Task.Delay(10); // its loop ends just after the last call
        Assert.Null(outbox.TryQueue(3, 1));
        var refused = Assert.Throws<InvalidOperationException>(() => { _ = outbox.Queue(3, 1); });
        Assert.Equal("held: the outbox was retired", refused.Message);
        Assert.Equal([1, 2], outbox.Calls.SelectMany(c => c));
    }

    private sealed class Observer : ISendObserver
    {
        private readonly List<Exception> _failures = [];

        public Exception[] Failures
        {
            get { lock (_failures) return [.. _failures]; }
        }

        public void SendFailed(Exception error)
        {
            lock (_failures) _failures.Add(error);
        }
    }

    [Fact]
    public async Task A_producer_that_does_not_wait_is_told_when_its_call_fails_or_its_item_is_refused_and_not_otherwise()
    {
        var outbox = new HeldOutbox(capacity: 2);
        var (sent, failed, refused) = (new Observer(), new Observer(), new Observer());
        outbox.Queue(1, 1, sent);
        await Poll.UntilAsync(() => outbox.Calls.Count == 1); // its call is in flight
        outbox.Queue(2, 1, failed);
        outbox.Queue(3, 1, failed);
        outbox.Queue(4, 1, refused); // two events wait already: the capacity

        var refusal = Assert.IsType<QueueFullException>(Assert.Single(refused.Failures)); // at once
        Assert.Equal("held: 2 events wait for its last call to return (it does not answer): event refused", refusal.Message);
        var firstCall = outbox.Release;
        outbox.Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        firstCall.SetResult();
        await Poll.UntilAsync(() => outbox.Calls.Count == 2);
        outbox.Release.SetException(new InvalidOperationException("the receiver is gone"));
        await Poll.UntilAsync(() => failed.Failures.Length == 2);

        Assert.Equal([[1], [2, 3]], outbox.Calls);
        Assert.Empty(sent.Failures);
        Assert.Equal(["the receiver is gone", "the receiver is gone"], failed.Failures.Select(e => e.Message)); // each item's
        Assert.Single(refused.Failures);
    }

    private sealed class ThrowingObserver : ISendObserver
    {
        public void SendFailed(Exception error) => throw new InvalidOperationException("a log provider failed");
    }

    [Fact]
    public async Task An_observer_that_throws_neither_stops_the_outbox_nor_keeps_the_others_untold()
    {
        var outbox = new HeldOutbox();
        var told = new Observer();
        outbox.Queue(1, 1, new ThrowingObserver());
        outbox.Queue(2, 1, told);
        outbox.Release.SetException(new InvalidOperationException("the receiver is gone"));
        await Poll.UntilAsync(() => told.Failures.Length == 1);

        outbox.Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        outbox.Release.SetResult();
        await outbox.Queue(3, 1).WaitAsync(TimeSpan.FromSeconds(10)); // the next call goes out
        Assert.Equal([1, 2, 3], outbox.Calls.SelectMany(c => c));
    }

    [Fact]
    public async Task A_gateway_on_streams_refuses_a_delivery_by_observer_and_says_what_to_set()
    {
        var gateway = new GatewayObserver(null!); // the cluster client is only used for its reference, not here
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            gateway.Deliver([new DeliveryBatch([new ChannelMessage("c", 1, "e", "d", 0)], Join: 0)]));
        Assert.Contains("receives on delivery streams, but a silo delivered by observer", error.Message);

        var delivered = new List<DeliveryBatch>();
        gateway.Delivered += delivered.Add;
        await gateway.Deliver([new DeliveryBatch([new ChannelMessage("c", 2, "e", "d", 0)])]);
        Assert.Single(delivered);
    }
}
