using LongLived.Contracts.Grains;
using LongLived.Gateway.Relay;
using Microsoft.Extensions.DependencyInjection;

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

        var earlier = Guid.NewGuid();
        await grain.Leave(hub.Route.GatewayId, earlier); // names a join this gateway no longer has
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
        var channel = ChannelNames.ForClient(TestStreams.NewId("moved"));
        var grain = cluster.Grains.GetGrain<IChannelGrain>(channel);
        const long older = 100, newer = 200;
        await grain.Claim(newer, left: false);
        var session = new SubscriberSession("moved", [channel], 64) { Fence = newer };
        await using var membership = await Hub(1).JoinAsync(channel, session, CancellationToken.None);

        var stale = Hub(2).Route;
        var head = await grain.Join(stale, TimeSpan.FromMinutes(1), Guid.NewGuid(), older);
        Assert.Equal(newer, head.Owner); // what tells the old session it was replaced
        await grain.Publish("to the newer session", null);

        Assert.Equal("to the newer session", await NextMessageAsync(session, channel, skipGenerated: true));
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
