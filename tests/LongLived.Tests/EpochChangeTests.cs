using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Silo.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Runtime;
using Orleans.Storage;

namespace LongLived.Tests;

/// <summary>A channel whose numbering restarts while a client streams it (its state was lost and replaced).</summary>
[Collection(ClusterCollection.Name)]
public sealed class EpochChangeTests(ClusterFixture cluster)
{
    [Fact]
    public async Task After_an_epoch_change_the_client_is_told_and_gets_the_new_numbering_from_its_first_offset()
    {
        var topic = TestStreams.NewId("reborn");
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(TestStreams.NewId("reader"), topic));
        await call.ReadyAsync();
        var publisher = cluster.Client(cluster.Port2);
        for (var i = 1; i <= 2; i++) await publisher.PublishAsync(new PublishRequest { Channel = topic, Data = $"old{i}" });
        var old = await call.ResponseStream.TakeAsync(2, topic);

        // What a lost silo with in-memory storage leaves behind: the channel's stored state is a new numbering that
        // already holds three messages, none of which went over the live stream. Written between two activations
        // (the channel saves its history when it deactivates); the gateway learns of it by its head check, head 3.
        var grain = cluster.Grains.GetGrain<IChannelGrain>(topic);
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var storage = cluster.Silo.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Channels);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await cluster.StoredAsync<ChannelState>(StorageNames.Channels, "channel", grain)).State.State is not { Open: false, Head: 2 })
        {
            Assert.True(DateTime.UtcNow < deadline, "the channel's deactivation never saved its history");
            await Task.Delay(10);
        }
        var (_, state) = await cluster.StoredAsync<ChannelState>(StorageNames.Channels, "channel", grain);
        Assert.Equal(2UL, state.State!.Head); // the history was saved at deactivation
        var newEpoch = "reborn" + Guid.NewGuid().ToString("N")[..6];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        state.State = new ChannelState
        {
            Epoch = newEpoch,
            Head = 3,
            Entries = [.. Enumerable.Range(1, 3).Select(i => new StoredEntry($"new{i}", now, null))],
        };
        await storage.WriteStateAsync("channel", grain.GetGrainId(), state);

        var next = await call.ResponseStream.TakeAsync(3, topic);

        Assert.Equal(old[0].Epoch, old[1].Epoch);
        Assert.Equal([1UL, 2UL, 3UL], next.Select(m => m.Offset));
        Assert.All(next, m => Assert.Equal(newEpoch, m.Epoch));
        Assert.Equal(["new1", "new2", "new3"], next.Select(m => m.Data));
        Assert.True(next[0].Unrecoverable, "the first message of the new numbering must say that what came before is lost");
        Assert.False(next[1].Unrecoverable);
    }
}
