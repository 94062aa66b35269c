using LongLived.Contracts;
using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using StackExchange.Redis;
using LongLived.Gateway.Resume;

namespace LongLived.Tests.Failover;

/// <summary>With Redis, a channel's history is a Redis stream an operator can read: one entry per message, the payload and little else.</summary>
public sealed class RedisHistoryTests
{
    [Fact]
    public async Task Each_message_is_one_Redis_stream_entry_of_its_payload_and_publish_time()
    {
        await using var run = await RedisRun.StartAsync(["--History:MaxCount=100"]);
        var (cluster, db) = (run.Cluster, run.Db);
        var client = cluster.Client;
        var topic = TestStreams.NewId("logged");
        var payload = new string('x', 100);
        PublishResponse last = null!;
        for (var i = 0; i < 150; i++) last = await client.PublishAsync(new PublishRequest { Channel = topic, Data = payload });

        var entries = await db.StreamRangeAsync($"ll:{{{topic}}}:log");
        // Capped at History:MaxCount (approximately, as XADD MAXLEN ~ trims whole nodes), newest last, no holes.
        Assert.InRange(entries.Length, 100, 150);
        Assert.Equal("150-1", (string)entries[^1].Id!);
        Assert.Equal(Enumerable.Range(151 - entries.Length, entries.Length).Select(o => $"{o}-1"), entries.Select(e => (string)e.Id!));
        Assert.All(entries, e =>
        {
            Assert.Equal(payload, (string)e["d"]!);
            // What an entry carries besides its payload: field names and the publish time, no channel name or epoch.
            var overhead = e.Values.Sum(v => ((string)v.Name!).Length + ((string)v.Value!).Length) - payload.Length;
            Assert.InRange(overhead, 1, 32);
        });
        var meta = (await db.HashGetAllAsync($"ll:{{{topic}}}:meta")).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal(last.Epoch, meta["epoch"]);
        Assert.Equal("150", meta["head"]);
    }

    /// <summary>
    /// A channel that goes silent gives its Redis memory back: the log after History:MaxAge (nothing in it would be
    /// served any more), the numbering after History:NumberingRetention; a publish after the log went continues the
    /// same numbering.
    /// </summary>
    [Fact]
    public async Task A_silent_channel_leaves_nothing_in_Redis_once_its_history_and_numbering_expire()
    {
        await using var run = await RedisRun.StartAsync(["--History:MaxAge=00:00:02", "--History:NumberingRetention=00:00:06"]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("silent");
        var first = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m1" });
        for (var i = 2; i <= 5; i++) await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = $"m{i}" });

        RedisKey log = $"ll:{{{topic}}}:log", meta = $"ll:{{{topic}}}:meta";
        Assert.Equal(5, await db.StreamLengthAsync(log));
        var (logTtl, metaTtl) = (await db.KeyTimeToLiveAsync(log), await db.KeyTimeToLiveAsync(meta));
        Assert.True(logTtl is { } l && l > TimeSpan.FromSeconds(1) && l <= TimeSpan.FromSeconds(2.2), $"log TTL {logTtl?.ToString() ?? "none"} (MaxAge 2 s)");
        Assert.True(metaTtl is { } m && m > TimeSpan.FromSeconds(4) && m <= TimeSpan.FromSeconds(6), $"numbering TTL {metaTtl?.ToString() ?? "none"} (6 s)");

        await WaitUntilGoneAsync(db, log, TimeSpan.FromSeconds(10));
        Assert.True(await db.KeyExistsAsync(meta), "the numbering outlives the history");
        // A new activation reads the numbering back from Redis (not from the old one's memory) and continues it; a
        // client at the head resumes without a loss.
        await cluster.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>(topic)
            .AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var next = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "after" });
        Assert.Equal((6UL, first.Epoch), (next.Offset, next.Epoch));
        using (var resumed = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("back"), topic).WithPosition(topic, 5, first.Epoch)))
        {
            Assert.Equal(topic, (await resumed.ReadyAsync()).GetValue(ProtocolNames.RecoveredHeader));
            Assert.Equal(6UL, Assert.Single(await resumed.ResponseStream.TakeAsync(1, topic)).Offset);
        }

        await WaitUntilGoneAsync(db, log, TimeSpan.FromSeconds(10));
        await WaitUntilGoneAsync(db, meta, TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// A silent channel that is being listened to keeps its numbering (the gateway's joins renew it): otherwise its next
    /// activation would start a new epoch and tell every subscriber of a loss that never was. Once nobody listens, it goes.
    /// </summary>
    [Fact]
    public async Task A_silent_channel_with_a_subscriber_keeps_its_numbering()
    {
        await using var run = await RedisRun.StartAsync(["--History:MaxAge=00:00:01", "--History:NumberingRetention=00:00:03"],
            gateway: ["--Gateway:HeadCheckInterval=00:00:00.2", "--Gateway:QuietCheckInterval=00:00:00.4"]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("listened");
        RedisKey meta = $"ll:{{{topic}}}:meta";
        var first = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m1" });

        using (var listener = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("listener"), topic)))
        {
            await listener.ReadyAsync();
            // Twice the retention without a message: still there, renewed by the joins.
            for (var until = DateTime.UtcNow.AddSeconds(6); DateTime.UtcNow < until; await Task.Delay(250))
            {
                Assert.True(await db.KeyExistsAsync(meta), "the numbering of a channel with a subscriber expired");
            }
            await cluster.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>(topic)
                .AsReference<IGrainManagementExtension>().DeactivateOnIdle();
            var next = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m2" });
            Assert.Equal((2UL, first.Epoch), (next.Offset, next.Epoch));
        }
        await WaitUntilGoneAsync(db, meta, TimeSpan.FromSeconds(15));
    }

    private static async Task WaitUntilGoneAsync(IDatabase db, RedisKey key, TimeSpan patience)
    {
        var until = DateTime.UtcNow + patience;
        while (await db.KeyExistsAsync(key))
        {
            Assert.True(DateTime.UtcNow < until, $"{key} still in Redis after {patience.TotalSeconds} s (TTL {await db.KeyTimeToLiveAsync(key)})");
            await Task.Delay(200);
        }
    }

    /// <summary>A Redis of its own, a silo and gateway on it, and the connection an operator would open to look.</summary>
    /// <summary>
    /// Issue 16.2: Redis loses the newest appends of a channel (a restart from an older state, a replica behind its
    /// master) while the channel's activation lives on. Appending after its own head would leave a hole in the log (the
    /// next activation could not open it) and offsets that clients saw, then lost, would silently differ. The append
    /// is conditional on the stored head: the channel starts a new epoch and its subscribers are told.
    /// </summary>
    [Fact]
    public async Task A_stored_head_that_went_back_starts_a_new_epoch_and_subscribers_are_told()
    {
        await using var run = await RedisRun.StartAsync([]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("rolled-back");
        using var call = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("watcher"), topic));
        await call.ResponseHeadersAsync;
        for (var i = 1; i <= 3; i++) await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = $"m{i}" });
        var seen = await call.ResponseStream.TakeAsync(3, topic);
        var epoch = seen[0].Epoch;

        await RollBackToFirstAsync(db, topic);

        PublishResponse published;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                published = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m4", IdempotencyKey = "m4" });
                break;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Unavailable && attempt < 5)
            {
                Assert.Contains("new epoch", ex.Status.Detail);
            }
        }
        Assert.NotEqual(epoch, published.Epoch);
        Assert.Equal(1UL, published.Offset);

        var next = (await call.ResponseStream.TakeAsync(1, topic))[0];
        Assert.Equal(("m4", true, published.Epoch), (next.Data, next.Unrecoverable, next.Epoch));
        var meta = (await db.HashGetAllAsync($"ll:{{{topic}}}:meta")).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal((published.Epoch, "1"), (meta["epoch"], meta["head"]));
    }

    /// <summary>
    /// Issue 16.2, the other half: Redis loses a channel's newest appends and the channel starts a new activation (its
    /// silo went, or a failed write deactivated it). The new activation opens the shorter log and its appends succeed, so
    /// the conditional append cannot see the loss: numbering on from the stored head hands out offsets the subscriber
    /// already saw, and its gateway drops the new messages as duplicates. The gateway's rejoin says what it saw; the
    /// channel starts a new epoch with what it stored since, and the subscriber gets the next message, told of the loss.
    /// </summary>
    [Fact]
    public async Task A_channel_reopened_on_a_log_that_lost_offsets_a_gateway_saw_starts_a_new_epoch()
    {
        await using var run = await RedisRun.StartAsync([]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("reopened");
        using var call = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("watcher"), topic));
        await call.ResponseHeadersAsync;
        for (var i = 1; i <= 3; i++) await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = $"m{i}" });
        var epoch = (await call.ResponseStream.TakeAsync(3, topic))[0].Epoch;

        await RollBackToFirstAsync(db, topic);
        await cluster.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>(topic).AsReference<IGrainManagementExtension>().DeactivateOnIdle();

        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m4" });
        var next = (await call.ResponseStream.TakeAsync(1, topic))[0];
        Assert.Equal(("m4", true), (next.Data, next.Unrecoverable));
        Assert.NotEqual(epoch, next.Epoch);
        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m5" });
        var after = (await call.ResponseStream.TakeAsync(1, topic))[0];
        Assert.Equal(("m5", false, next.Epoch, next.Offset + 1), (after.Data, after.Unrecoverable, after.Epoch, after.Offset));
    }

    /// <summary>
    /// The same loss when the new activation has already numbered past the offset the gateway saw before that gateway
    /// joins it: offsets it reused are still offsets the gateway saw, so a gateway's first join of an activation is
    /// judged against what that activation opened, not against what it stored since.
    /// </summary>
    [Fact]
    public async Task A_reopened_channel_that_already_reused_the_offsets_a_gateway_saw_still_starts_a_new_epoch()
    {
        await using var run = await RedisRun.StartAsync([]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("reused");
        var grain = cluster.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>(topic);
        LongLived.Contracts.Grains.ChannelMessage seen = null!;
        for (var i = 1; i <= 3; i++) seen = await grain.Publish($"m{i}", null);

        await RollBackToFirstAsync(db, topic);
        await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await grain.Publish("m4", null); // offset 2 again
        await grain.Publish("m5", null); // offset 3 again: the head is where the gateway saw it

        var head = await grain.Join(new GatewayRoute($"gateway-{Guid.NewGuid():N}", 1), TimeSpan.FromMinutes(1), 1, 0, new ChannelPosition(seen.Offset, seen.Epoch));
        Assert.NotEqual(seen.Epoch, head.Epoch);
        var page = await grain.Read(0, head.Epoch, 10);
        Assert.Equal(["m4", "m5"], page.Messages.Select(m => m.Data)); // carried over, renumbered 1 and 2
        Assert.Equal([1UL, 2UL], page.Messages.Select(m => m.Offset));
    }

    /// <summary>
    /// An entry past the stored head (a write whose head never landed) must not block the channel: the append removes it
    /// and writes its own message under that offset (XDEL alone keeps the stream's last id, and XADD would refuse).
    /// </summary>
    [Fact]
    public async Task An_entry_past_the_stored_head_is_replaced_by_the_next_append()
    {
        await using var run = await RedisRun.StartAsync([]);
        var (cluster, db) = (run.Cluster, run.Db);
        var topic = TestStreams.NewId("stray");
        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m1" });
        await db.StreamAddAsync($"ll:{{{topic}}}:log", [new NameValueEntry("d", "stray"), new NameValueEntry("t", 0)], messageId: "2-1");

        var second = await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "m2" });
        Assert.Equal(2UL, second.Offset);
        var entries = await db.StreamRangeAsync($"ll:{{{topic}}}:log");
        Assert.Equal(["m1", "m2"], entries.Select(e => (string)e["d"]!));
    }

    /// <summary>
    /// A channel of three messages as Redis restored from an older state has it: head 1, the entries after it gone, and
    /// the stream's last id back at 1.
    /// </summary>
    private static async Task RollBackToFirstAsync(IDatabase db, string topic)
    {
        await db.HashSetAsync($"ll:{{{topic}}}:meta", "head", 1);
        await db.StreamDeleteAsync($"ll:{{{topic}}}:log", ["2-1", "3-1"]);
        await db.ExecuteAsync("XSETID", $"ll:{{{topic}}}:log", "1-1");
    }
}
