using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Resume;

namespace LongLived.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ResumeTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_client_that_resumes_on_another_gateway_gets_exactly_what_it_missed()
    {
        var id = TestStreams.NewId("resumer");
        var topic = TestStreams.NewId("feed");
        var publisher = cluster.Client(cluster.Port1);
        string epoch;
        using (var before = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id, topic)))
        {
            await before.ReadyAsync();
            await PublishAsync(publisher, topic, 1, 5);
            var seen = await before.ResponseStream.TakeAsync(5, topic);
            Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], seen.Select(m => m.Offset));
            epoch = seen[^1].Epoch;
        }

        await PublishAsync(publisher, topic, 6, 10); // while disconnected
        using var after = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(id, topic).WithPosition(topic, 5, epoch));
        var headers = await after.ReadyAsync();
        await PublishAsync(publisher, topic, 11, 11); // live again

        var resumed = await after.ResponseStream.TakeAsync(6, topic);
        Assert.Equal(Enumerable.Range(6, 6).Select(i => (ulong)i), resumed.Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(6, 6).Select(i => $"n{i}"), resumed.Select(m => m.Data));
        Assert.All(resumed, m => Assert.False(m.Unrecoverable));
        Assert.Equal(topic, headers.GetValue(ProtocolNames.RecoveredHeader));
        Assert.Null(headers.GetValue(ProtocolNames.UnrecoverableHeader));
    }

    [Fact]
    public async Task The_generator_keeps_running_while_disconnected_and_resume_replays_it()
    {
        var id = TestStreams.NewId("away");
        var channel = ChannelNames.ForClient(id);
        Response last;
        using (var before = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id)))
        {
            last = (await before.ResponseStream.TakeAsync(2, channel))[^1];
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // several generator ticks at the tests' 200 ms interval

        using var after = cluster.Client(cluster.Port2).Subscribe(TestStreams.Subscribe(id).WithPosition(channel, last.Offset, last.Epoch));
        var resumed = await after.ResponseStream.TakeAsync(8, channel);

        Assert.Equal(Enumerable.Range((int)last.Offset + 1, 8).Select(i => (ulong)i), resumed.Select(m => m.Offset));
        Assert.All(resumed, m => Assert.Equal(last.Epoch, m.Epoch));
    }

    [Fact]
    public async Task A_stale_epoch_is_reported_as_not_recoverable_and_the_stream_continues_from_now()
    {
        var id = TestStreams.NewId("stale");
        var channel = ChannelNames.ForClient(id);
        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id).WithPosition(channel, 3, "not-this-epoch"));

        var headers = await call.ReadyAsync();
        var messages = await call.ResponseStream.TakeAsync(3, channel);

        Assert.Equal(Uri.EscapeDataString(channel), headers.GetValue(ProtocolNames.UnrecoverableHeader));
        Assert.True(messages[0].Unrecoverable);
        Assert.False(messages[1].Unrecoverable);
        Assert.NotEqual("not-this-epoch", messages[0].Epoch);
        Assert.Equal(messages[0].Offset + 1, messages[1].Offset);
    }

    [Fact]
    public async Task A_position_older_than_the_history_is_reported_as_not_recoverable()
    {
        var id = TestStreams.NewId("late");
        var topic = TestStreams.NewId("busy");
        var publisher = cluster.Client(cluster.Port2);
        var total = ClusterFixture.HistoryMaxCount + 50;
        var epoch = await PublishAsync(publisher, topic, 1, total);

        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(id, topic).WithPosition(topic, 1, epoch));
        var headers = await call.ReadyAsync();
        await PublishAsync(publisher, topic, total + 1, total + 2);
        var messages = await call.ResponseStream.TakeAsync(2, topic);

        Assert.Equal(topic, headers.GetValue(ProtocolNames.UnrecoverableHeader));
        Assert.Equal([(ulong)total + 1, (ulong)total + 2], messages.Select(m => m.Offset));
        Assert.True(messages[0].Unrecoverable);
        Assert.False(messages[1].Unrecoverable);
    }

    [Fact]
    public async Task A_position_beyond_the_head_is_reported_as_not_recoverable()
    {
        var topic = TestStreams.NewId("short");
        var publisher = cluster.Client(cluster.Port1);
        var epoch = await PublishAsync(publisher, topic, 1, 2);

        using var call = cluster.Client(cluster.Port1).Subscribe(TestStreams.Subscribe(TestStreams.NewId("future"), topic).WithPosition(topic, 99, epoch));
        var headers = await call.ReadyAsync();

        Assert.Equal(topic, headers.GetValue(ProtocolNames.UnrecoverableHeader));
    }

    /// <summary>Publishes "n{from}".."n{to}" and returns the epoch.</summary>
    private static async Task<string> PublishAsync(Longlived.LonglivedClient client, string topic, int from, int to)
    {
        var epoch = "";
        for (var i = from; i <= to; i++)
        {
            var reply = await client.PublishAsync(new PublishRequest { Channel = topic, Data = $"n{i}" });
            Assert.Equal((ulong)i, reply.Offset);
            epoch = reply.Epoch;
        }
        return epoch;
    }
}
