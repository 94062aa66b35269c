using Grpc.Core;
using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Runtime;
using Orleans.Storage;
using LongLived.Gateway.Cluster;
using LongLived.Gateway.Sessions;

namespace LongLived.Tests;

/// <summary>Newest wins even when the one-way EndSession never reaches the old session's gateway.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionFencingTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_session_that_never_gets_its_EndSession_still_ends_when_a_newer_one_is_live()
    {
        var id = TestStreams.NewId("fenced");
        var channel = ChannelNames.ForClient(id);
        using var first = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));
        var seen = await first.ResponseStream.TakeAsync(1, channel);

        // The client grain forgets the first session (its state lost, as with in-memory storage and a dead silo): the
        // next Subscribe sends no EndSession at all, exactly as if it had been lost on the way.
        var grain = cluster.Grains.GetClientGrain(id);
        await LoseActivationAsync(grain);

        using var second = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(id).WithPosition(channel, seen[0].Offset, seen[0].Epoch));
        await second.ResponseStream.TakeAsync(1, channel);

        var ended = await first.ResponseStream.EndAsync();
        Assert.Equal(StatusCode.Aborted, ended.StatusCode);
        Assert.Single(await second.ResponseStream.TakeAsync(1, channel)); // the new one goes on
    }

    /// <summary>
    /// A first session is not stored on its own (only with the next write), so an activation lost before that write
    /// leaves a live session the next activation learns about only from its gateway's join. An Unsubscribe must still end it.
    /// </summary>
    /// <param name="olderStored">Storage still holds an older session (the live one replaced none, so it was not written):
    /// the Unsubscribe's EndSession goes to that one, and the live one must end all the same.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_Unsubscribe_ends_a_session_whose_activation_was_lost_before_storing_it(bool olderStored)
    {
        var id = TestStreams.NewId("lost-session");
        var channel = ChannelNames.ForClient(id);
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, channel);
        var grain = cluster.Grains.GetClientGrain(id);
        var observer = cluster.Gateway2.Services.GetRequiredService<GatewayObserver>();
        Guid? older = olderStored ? Guid.NewGuid() : null;
        await LoseActivationAsync(grain, older is { } session ? new ClientState
        {
            Session = new SessionInfo(session, observer.GatewayId, observer.Reference, [], TimeSpan.Zero),
            Fence = 1,
        } : new ClientState());

        // The new activation tells the gateways it restarted; the gateway holding the session joins it again.
        var deadline = DateTime.UtcNow + TestStreams.Patience;
        while ((await cluster.Grains.GetGrain<IChannelGrain>(channel).GetSnapshot()).Gateways.Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(older, (await grain.GetSnapshot()).SessionId); // it does not know the live session

        var reply = await cluster.Client(cluster.Port2).UnsubscribeAsync(new Request { Id = id });
        Assert.Contains("Unsubscribed", reply.Data);
        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        while (await call.ResponseStream.MoveNext(timeout.Token)) { }
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode); // ended as left, not as replaced
    }

    [Fact]
    public async Task An_earlier_attempt_of_a_client_instance_that_arrives_late_never_replaces_its_later_one()
    {
        var id = TestStreams.NewId("attempts");
        var channel = ChannelNames.ForClient(id);
        var instance = Guid.NewGuid().ToString("N");
        using var later = cluster.Client(cluster.Port1).Subscribe(new Request { Id = id, ClientInstance = instance, Attempt = 2 });
        await later.ResponseStream.TakeAsync(1, channel);

        // Attempt 1 of the same client object reaches a gateway only now (it was sent on a connection that was dying).
        using var earlier = cluster.Client(cluster.Port2).Subscribe(new Request { Id = id, ClientInstance = instance, Attempt = 1 });

        Assert.Equal(StatusCode.Aborted, (await earlier.ResponseStream.EndAsync()).StatusCode);
        Assert.Equal(2, (await later.ResponseStream.TakeAsync(2, channel)).Count); // the later one goes on
        // Another client object (another instance) is ordered by arrival as before: the newest Subscribe wins.
        using var other = cluster.Client(cluster.Port2).Subscribe(new Request { Id = id, ClientInstance = "another", Attempt = 1 });
        await other.ResponseStream.TakeAsync(1, channel);
        Assert.Equal(StatusCode.Aborted, (await later.ResponseStream.EndAsync()).StatusCode);
    }

    [Fact]
    public async Task A_session_whose_Unsubscribe_EndSession_is_lost_ends_with_OK_not_as_replaced()
    {
        var id = TestStreams.NewId("left");
        var channel = ChannelNames.ForClient(id);
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id));
        var seen = await call.ResponseStream.TakeAsync(1, channel);

        // What an Unsubscribe does besides its one-way EndSession: the own channel's head names a newer fence, marked as
        // a leave. The EndSession is "lost" here by not sending it: the session hears only the head (as from a head
        // check), and must end as the EndSession would have (OK), not as replaced (ABORTED): the soak test saw that race.
        var session = cluster.Gateway1.Services.GetRequiredService<SessionRegistry>().Sessions.Single(s => s.ClientId == id);
        session.OfferHead(channel, new ChannelHead(seen[0].Epoch, seen[0].Offset, Owner: session.Fence + 1, OwnerLeft: true));

        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        while (await call.ResponseStream.MoveNext(timeout.Token)) { }
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    /// <summary>
    /// Ends the client's activation as a dead silo would: what it has not stored is lost. Its stored state is replaced
    /// (with an empty one, or <paramref name="stored"/>) under a new ETag, so the write it attempts as it deactivates fails.
    /// </summary>
    private async Task LoseActivationAsync(IClientGrain grain, ClientState? stored = null)
    {
        var (storage, state) = await cluster.StoredAsync<ClientState>(StorageNames.Clients, "client", grain);
        state.State = stored ?? new ClientState();
        await storage.WriteStateAsync("client", grain.GetGrainId(), state);
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
    }
}

/// <summary>Acknowledgements: only for the client's own channels, and stored without waiting for a deactivation.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AcknowledgementTests(ClusterFixture cluster)
{
    [Fact]
    public async Task An_acknowledgement_is_in_storage_within_seconds()
    {
        var id = TestStreams.NewId("durable-ack");
        var client = cluster.Client(cluster.Port1);
        using var call = client.Subscribe(TestStreams.Subscribe(id));
        var message = (await call.ResponseStream.TakeAsync(3, ChannelNames.ForClient(id)))[2];
        await client.NotifyReceivedAsync(new Request { Id = id }.WithPosition(message.Channel, message.Offset, message.Epoch));

        var grain = cluster.Grains.GetClientGrain(id);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        ChannelPosition? stored = null;
        while (DateTime.UtcNow < deadline)
        {
            var (_, state) = await cluster.StoredAsync<ClientState>(StorageNames.Clients, "client", grain);
            stored = state.State?.Acknowledged?.GetValueOrDefault(message.Channel);
            if (stored?.Offset == message.Offset) break;
            await Task.Delay(200);
        }
        Assert.Equal(new ChannelPosition(message.Offset, message.Epoch), stored);
    }

    [Fact]
    public async Task An_acknowledgement_for_a_channel_the_client_does_not_subscribe_is_INVALID_ARGUMENT()
    {
        var id = TestStreams.NewId("stray-ack");
        var client = cluster.Client(cluster.Port1);
        using var call = client.Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id));

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.NotifyReceivedAsync(new Request { Id = id }.WithPosition("someone-elses-topic", 1, "e")).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("not subscribed", error.Status.Detail);
        var snapshot = await cluster.Grains.GetClientGrain(id).GetSnapshot();
        Assert.DoesNotContain("someone-elses-topic", snapshot.Acknowledged.Keys);
    }

    /// <summary>
    /// An original-contract client acknowledges without positions: the client grain counts them from where the session
    /// started, and its next Subscribe without a position resumes right after the last one counted, in the same call.
    /// </summary>
    [Fact]
    public async Task Positionless_acknowledgements_count_from_the_session_start_and_the_next_subscribe_resumes_after_them()
    {
        var id = TestStreams.NewId("positionless");
        var grain = cluster.Grains.GetClientGrain(id);
        var own = ChannelNames.ForClient(id);
        var (first, firstSession) = await cluster.SubscribeAtGrainAsync(grain);
        Assert.Null(first.From); // nothing acknowledged yet: it starts at the head
        await grain.Started(firstSession);
        var start = first.Head;
        for (var i = 0; i < 3; i++) await grain.Acknowledge(new Dictionary<string, ChannelPosition>()); // messages 1..3
        Assert.Equal(new ChannelPosition(start.Head + 3, start.Epoch), (await grain.GetSnapshot()).Acknowledged[own]);

        await WaitForHeadAsync(own, start.Head + 4); // the message after the three acknowledged ones

        var (second, secondSession) = await cluster.SubscribeAtGrainAsync(grain);
        Assert.Equal(new ChannelPosition(start.Head + 3, start.Epoch), second.From);
        Assert.True(second.Page!.Recoverable);
        Assert.Equal(start.Head + 4, second.Page.Messages[0].Offset);
        await grain.Started(secondSession);
        await grain.Acknowledge(new Dictionary<string, ChannelPosition>()); // message 4, the second session's first
        Assert.Equal(new ChannelPosition(start.Head + 4, start.Epoch), (await grain.GetSnapshot()).Acknowledged[own]);
    }

    /// <summary>
    /// An original-contract client's acknowledgement sent just before its stream ended (a drain, a rebalance) reaches
    /// the client grain after the client subscribed again, before the new session started sending: it must not count
    /// on top of the new start, or the stored position runs one past what the client received and its next resume
    /// skips a message.
    /// </summary>
    [Fact]
    public async Task A_positionless_acknowledgement_landing_before_the_new_session_started_does_not_move_the_position()
    {
        var id = TestStreams.NewId("late-ack");
        var grain = cluster.Grains.GetClientGrain(id);
        var own = ChannelNames.ForClient(id);
        var (first, firstSession) = await cluster.SubscribeAtGrainAsync(grain);
        await grain.Started(firstSession);
        for (var i = 0; i < 3; i++) await grain.Acknowledge(new Dictionary<string, ChannelPosition>());
        var acknowledged = new ChannelPosition(first.Head.Head + 3, first.Head.Epoch);
        await WaitForHeadAsync(own, acknowledged.Offset);

        var (second, secondSession) = await cluster.SubscribeAtGrainAsync(grain);
        Assert.True(second.Page!.Recoverable);
        Assert.Equal(acknowledged, second.From);
        await grain.Acknowledge(new Dictionary<string, ChannelPosition>()); // the first stream's last one, late
        await grain.Started(secondSession);
        Assert.Equal(acknowledged, (await grain.GetSnapshot()).Acknowledged[own]);

        await grain.Acknowledge(new Dictionary<string, ChannelPosition>()); // the second session's first message
        Assert.Equal(acknowledged with { Offset = acknowledged.Offset + 1 }, (await grain.GetSnapshot()).Acknowledged[own]);
    }

    /// <summary>Waits until the generator has made <paramref name="offset"/> on the client's own channel, so history can serve it.</summary>
    private async Task WaitForHeadAsync(string ownChannel, ulong offset)
    {
        var channel = cluster.Grains.GetGrain<IChannelGrain>(ownChannel);
        var deadline = DateTime.UtcNow + TestStreams.Patience;
        while ((await channel.Touch()).Head < offset && DateTime.UtcNow < deadline) await Task.Delay(100);
    }
}
