using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using LongLived.Gateway.Sessions;
using LongLived.Gateway.Delivery;
using LongLived.Gateway.Cluster;
using LongLived.Silo.Grains;

namespace LongLived.Tests;

/// <summary>
/// Issue 16.1 (b, c): joins and leaves that arrive late or stale must not undo newer ones. Real gateways' hubs and a
/// real channel grain; the calls a late message would make are made directly, in the order the race produces.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class JoinTests(ClusterFixture cluster)
{
    private ChannelHub Hub(int gateway) => (gateway == 1 ? cluster.Gateway1 : cluster.Gateway2).Services.GetRequiredService<ChannelHub>();

    /// <summary>
    /// The last subscriber of a channel leaves and a new one arrives at once: the new entry's Join reaches the grain,
    /// then the old entry's Leave (slow, or timed out and landing late). The newer join must stay.
    /// </summary>
    [Fact]
    public async Task A_late_leave_of_an_earlier_join_does_not_end_a_newer_one()
    {
        var topic = TestStreams.NewId("late-leave");
        var hub = Hub(1);
        var session = new SubscriberSession("late-leave-client", [topic], 64);
        await using var membership = await hub.JoinAsync(topic, session, CancellationToken.None);
        var grain = cluster.Grains.GetGrain<IChannelGrain>(topic);

        await grain.Leave(hub.Route.GatewayId, 0); // names an earlier join of this gateway (ids grow)
        await grain.Publish("still joined", null);

        Assert.Equal("still joined", await NextMessageAsync(session, topic));
    }

    /// <summary>
    /// A client moved from gateway 2 to gateway 1 (newer session, higher fence); gateway 2's head check, working from a
    /// list taken before the move, still joins the client's channel for the old session. That join must not take the
    /// channel from gateway 1.
    /// </summary>
    [Fact]
    public async Task A_stale_join_for_an_older_session_does_not_take_a_client_channel_from_the_newer_one()
    {
        var id = TestStreams.NewId("moved");
        var channel = ChannelNames.ForClient(id);
        var grain = cluster.Grains.GetGrain<IChannelGrain>(channel);
        var session = new SubscriberSession(id, [channel], 64);
        var lifecycle = cluster.Gateway1.Services.GetRequiredService<SessionLifecycle>();
        await using var membership = await Hub(1).JoinAsync(channel, session, CancellationToken.None,
            async join => (await lifecycle.SubscribeAsync(session, Hub(1).Route, Hub(1).JoinLease, join, null, 10)).Head);
        var newer = session.Fence;

        var stale = Hub(2).Route;
        var head = await grain.Join(stale, TimeSpan.FromMinutes(1), 1, newer - 1, null);
        Assert.Equal(newer, head.Owner); // what tells the old session it was replaced
        await grain.Publish("to the newer session", null);

        Assert.Equal("to the newer session", await NextMessageAsync(session, channel, skipGenerated: true));
    }

    /// <summary>
    /// Issue 16.4: the owner (the fence of the client's newest session) outlives the channel's activation. A session
    /// replaced before the channel reactivated (its EndSession lost) must still be refused, not take the channel back
    /// from the newer session's gateway at its next head check.
    /// </summary>
    [Fact]
    public async Task A_replaced_session_stays_fenced_off_after_its_channel_reactivates()
    {
        var id = TestStreams.NewId("refenced");
        var client = cluster.Grains.GetClientGrain(id);
        var replaced = (await cluster.SubscribeAtGrainAsync(client)).Grant;
        var newest = (await cluster.SubscribeAtGrainAsync(client)).Grant;
        var grain = cluster.Grains.GetGrain<IChannelGrain>(ChannelNames.ForClient(id));
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();

        var stale = Hub(2).Route;
        var head = await grain.Join(stale, TimeSpan.FromMinutes(1), 1, replaced.Fence, null);
        Assert.Equal(newest.Fence, head.Owner);
        Assert.DoesNotContain(stale.GatewayId, (await grain.GetSnapshot()).Gateways);
    }

    /// <summary>
    /// An Unsubscribe's fence says "left": a session that missed its EndSession must end with OK, not as replaced, also
    /// when the Unsubscribe's claim activated the channel and after the channel reactivates.
    /// </summary>
    [Fact]
    public async Task An_unsubscribe_stays_a_leave_across_channel_activations()
    {
        var id = TestStreams.NewId("left-owner");
        var client = cluster.Grains.GetClientGrain(id);
        await cluster.SubscribeAtGrainAsync(client);
        var grain = cluster.Grains.GetGrain<IChannelGrain>(ChannelNames.ForClient(id));
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();

        Assert.True(await client.Unsubscribe()); // the session outlived the activation (stored when it ended)
        Assert.True((await grain.Touch()).OwnerLeft);
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.True((await grain.Touch()).OwnerLeft);
    }

    /// <summary>
    /// Issue 16.5: a gateway that died without leaving stops renewing its join; the channel forgets it at the next join
    /// of any gateway (a head check), not only when a message is published, so a quiet topic does not keep one join per
    /// dead gateway instance.
    /// </summary>
    [Fact]
    public async Task The_join_of_a_gateway_that_stopped_renewing_is_dropped_without_any_publish()
    {
        var grain = cluster.Grains.GetGrain<IChannelGrain>(TestStreams.NewId("dead-join"));
        var dead = new GatewayRoute($"dead-gateway-{Guid.NewGuid():N}", 1);
        await grain.Join(dead, TimeSpan.FromMilliseconds(200), 1, 0, null);
        Assert.Contains(dead.GatewayId, (await grain.GetSnapshot()).Gateways);
        await Task.Delay(TimeSpan.FromMilliseconds(600)); // past its lease

        var live = Hub(1).Route;
        var join = long.MaxValue; // newer than any the gateway made
        await grain.Join(live, TimeSpan.FromMinutes(1), join, 0, null);
        Assert.Equal([live.GatewayId], (await grain.GetSnapshot()).Gateways);
        await grain.Leave(live.GatewayId, join);
    }

    /// <summary>
    /// Issue 15, step 4: a join lasts while its gateway is in the gateway directory, with no call per channel to renew
    /// it, and keeps the channel's activation from collection meanwhile (idle, it gets no calls). Once the directory
    /// drops the gateway (it died without leaving), the silo ends the join and lets the activation go.
    /// </summary>
    [Fact]
    public async Task A_join_lasts_while_its_gateway_is_in_the_directory_and_ends_when_the_directory_drops_it()
    {
        var grain = cluster.Grains.GetGrain<IChannelGrain>(TestStreams.NewId("listed-join"));
        var gateway = new GatewayRoute($"listed-gateway-{Guid.NewGuid():N}", 1);
        var observer = cluster.Gateway1.Services.GetRequiredService<GatewayObserver>().Reference;
        var listedFor = TimeSpan.FromSeconds(30);
        await cluster.Grains.GetGrain<IGatewayDirectory>(0).Register(gateway, observer, listedFor);
        var listedUntil = DateTime.UtcNow + listedFor;
        await grain.Join(gateway, TimeSpan.FromSeconds(1), 1, 0, null); // its own lease: 1 s

        // Past its own lease and past the silo's next read of the directory, with no call to the channel meanwhile.
        await Task.Delay(LiveGateways.ReadEvery + TimeSpan.FromSeconds(2));
        var management = cluster.Grains.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await management.GetGrainActivationCount((GrainReference)grain));
        Assert.True(DateTime.UtcNow < listedUntil, "too slow to tell: the directory's listing ran out before the check");
        Assert.Contains(gateway.GatewayId, (await grain.GetSnapshot()).Gateways);

        // The listing runs out (nobody renews it): within a read of the directory the join ends, and collection takes the
        // activation.
        var deadline = listedUntil + LiveGateways.ReadEvery + TimeSpan.FromSeconds(30);
        var count = 1;
        while (count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            await management.ForceActivationCollection(TimeSpan.FromSeconds(1));
            count = await management.GetGrainActivationCount((GrainReference)grain);
        }
        Assert.Equal(0, count);
    }

    /// <summary>
    /// Issue 16.1 (b): a head check's Join is in flight when its entry closes (the last subscriber left, the Leave went
    /// out) and lands late, after a newer entry joined, or after nothing did. It must not join the gateway again, nor
    /// take the newer entry's place so that the newer entry's Leave no longer ends the join.
    /// </summary>
    [Fact]
    public async Task A_head_check_join_landing_after_its_entry_left_changes_nothing()
    {
        var grain = cluster.Grains.GetGrain<IChannelGrain>(TestStreams.NewId("late-join"));
        var gateway = new GatewayRoute($"gateway-{Guid.NewGuid():N}", 1);
        var lease = TimeSpan.FromMinutes(1);

        await grain.Join(gateway, lease, 4, 0, null);
        await grain.Leave(gateway.GatewayId, 4);
        await grain.Join(gateway, lease, 4, 0, null); // late
        Assert.Empty((await grain.GetSnapshot()).Gateways);

        await grain.Join(gateway, lease, 5, 0, null); // a newer entry
        await grain.Join(gateway, lease, 4, 0, null); // late again
        await grain.Leave(gateway.GatewayId, 5);
        Assert.Empty((await grain.GetSnapshot()).Gateways);
    }

    private static async Task<string> NextMessageAsync(SubscriberSession session, string channel, bool skipGenerated = false)
    {
        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        await foreach (var signal in session.Buffer.ReadAllAsync(timeout.Token))
        {
            if (signal.Channel != channel || signal.Message is not { } message) continue;
            if (skipGenerated && message.Data.StartsWith("data mock for:", StringComparison.Ordinal)) continue;
            return message.Data;
        }
        throw new InvalidOperationException("the session's buffer completed");
    }
}
