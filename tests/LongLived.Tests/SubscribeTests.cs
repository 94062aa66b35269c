using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;

namespace LongLived.Tests;

[Collection(ClusterCollection.Name)]
public sealed class SubscribeTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_new_client_receives_its_generated_data_in_order_from_offset_1()
    {
        var id = TestStreams.NewId("own");
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));

        var messages = await call.ResponseStream.TakeAsync(3, ChannelNames.ForClient(id));

        Assert.Equal([1UL, 2UL, 3UL], messages.Select(m => m.Offset));
        Assert.All(messages, m => Assert.Equal($"data mock for: {id}", m.Data));
        Assert.Single(messages.Select(m => m.Epoch).Distinct());
        Assert.False(string.IsNullOrEmpty(messages[0].Epoch));
        Assert.All(messages, m => Assert.True(m.PublishTimeUnixMs > 0));
        Assert.All(messages, m => Assert.False(m.Unrecoverable));
    }

    [Fact]
    public async Task A_client_built_from_the_original_contract_receives_data()
    {
        var id = TestStreams.NewId("original");
        var client = new Original.Longlived.LonglivedClient(cluster.Channel(cluster.Port2));
        using var call = client.Subscribe(new Original.Request { Id = id });
        using var timeout = new CancellationTokenSource(TestStreams.Patience);

        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal($"data mock for: {id}", call.ResponseStream.Current.Data);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal($"data mock for: {id}", call.ResponseStream.Current.Data);

        var ack = await client.NotifyReceivedAsync(new Original.Request { Id = id });
        Assert.Equal($"NotifyReceived: {id}", ack.Data);
        await client.UnsubscribeAsync(new Original.Request { Id = id });
    }

    [Fact]
    public async Task Unsubscribe_ends_the_stream_with_OK()
    {
        var id = TestStreams.NewId("unsub");
        var client = cluster.Client(cluster.Port1);
        using var call = client.Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id));

        // Through the other gateway: the grain knows where the stream lives.
        var reply = await cluster.Client(cluster.Port2).UnsubscribeAsync(new Request { Id = id });

        Assert.Equal($"Unsubscribed: {id}", reply.Data);
        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        while (await call.ResponseStream.MoveNext(timeout.Token)) { }
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Unsubscribe_without_a_live_stream_is_NOT_FOUND()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await cluster.Client(cluster.Port1).UnsubscribeAsync(new Request { Id = TestStreams.NewId("nobody") }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task NotifyReceived_is_recorded_in_the_client_grain()
    {
        var id = TestStreams.NewId("notify");
        var client = cluster.Client(cluster.Port1);
        using var call = client.Subscribe(TestStreams.Subscribe(id));
        var message = (await call.ResponseStream.TakeAsync(2, ChannelNames.ForClient(id)))[1];

        var ack = new Request { Id = id }.WithPosition(message.Channel, message.Offset, message.Epoch);
        var reply = await client.NotifyReceivedAsync(ack);

        Assert.Equal($"NotifyReceived: {id}", reply.Data);
        var state = await cluster.Grains.GetClientGrain(id).GetSnapshot();
        Assert.Equal(1, state.Notifications);
        Assert.Equal(new ChannelPosition(2, message.Epoch), state.Acknowledged![message.Channel]);
        Assert.NotNull(state.SessionId);
    }

    [Fact]
    public async Task A_second_Subscribe_for_the_same_id_ends_the_first_even_on_another_gateway()
    {
        var id = TestStreams.NewId("twice");
        var channel = ChannelNames.ForClient(id);
        using var first = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));
        var seen = await first.ResponseStream.TakeAsync(1, channel);

        using var second = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(id).WithPosition(channel, seen[0].Offset, seen[0].Epoch));
        await second.ReadyAsync();

        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var timeout = new CancellationTokenSource(TestStreams.Patience);
            while (await first.ResponseStream.MoveNext(timeout.Token)) { }
        });
        Assert.Equal(StatusCode.Aborted, ended.StatusCode);
        var next = await second.ResponseStream.TakeAsync(2, channel);
        Assert.Equal([seen[0].Offset + 1, seen[0].Offset + 2], next.Select(m => m.Offset));
        var state = await cluster.Grains.GetClientGrain(id).GetSnapshot();
        Assert.Equal(2, state.Sessions);
    }

    /// <summary>
    /// A client costs one activation: its own channel's grain also holds its session state, so a Subscribe is one grain
    /// call to one grain (the old design had a client grain beside the channel grain, and four calls).
    /// </summary>
    [Fact]
    public async Task A_subscribed_client_costs_one_activation()
    {
        var id = TestStreams.NewId("one-activation");
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id));

        var statistics = await cluster.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var mine = statistics.Where(s => s.GrainId.ToString().Contains(id, StringComparison.Ordinal)).Select(s => s.GrainId.ToString()).ToArray();
        Assert.True(mine.Length == 1, $"activations for client {id}: {string.Join(", ", mine)}");
    }

    /// <summary>
    /// Clients that connect together (after a failover, a deploy) do not get their generated data in one burst: each
    /// own channel publishes at its own point of the interval, one of 100 slots by its name's hash, whenever its client
    /// connected. On the old timers (started at Subscribe) these clients' messages all fell in the same few ms.
    /// </summary>
    [Fact]
    public async Task Generated_data_of_clients_that_connect_together_is_spread_over_the_interval()
    {
        const long interval = 200; // ClusterFixture's Generator:Interval, in ms
        var ids = Enumerable.Range(0, 12).Select(_ => TestStreams.NewId("spread")).ToArray();
        var client = cluster.Client(cluster.Port1);
        var calls = ids.Select(id => client.Subscribe(TestStreams.Subscribe(id))).ToArray();
        try
        {
            var received = await Task.WhenAll(ids.Select((id, i) => calls[i].ResponseStream.TakeAsync(5, ChannelNames.ForClient(id))));

            // How far each channel's messages fell from its slot in the interval; per channel the nearest of its rounds, so a
            // busy machine that makes a round late does not count (the clock's own timing is tested exactly in
            // GeneratorClockTests). Had each channel's timer started at Subscribe, the twelve would publish together, each
            // as far from its own slot as that is from the common instant.
            var nearest = received.Select(messages => messages.Skip(1).Min(m =>
            {
                var slot = GeneratorClock.SlotOf(m.Channel) * (interval / GeneratorClock.Slots);
                var off = ((m.PublishTimeUnixMs - slot) % interval + interval) % interval;
                return Math.Min(off, interval - off);
            })).ToArray();
            var onTime = nearest.Count(d => d <= interval / 5);
            Assert.True(onTime >= ids.Length - 2, $"{onTime} of {ids.Length} channels published within {interval / 5} ms of their slot in some round: {string.Join(", ", nearest)} ms");
            var slots = ids.Select(id => GeneratorClock.SlotOf(ChannelNames.ForClient(id))).Distinct().Count();
            Assert.True(slots > 1, "the ids fell in one slot");
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }
    }
}
