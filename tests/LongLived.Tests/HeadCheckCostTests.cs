using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Tests;

/// <summary>
/// The tail-loss check follows changes in traffic: idle streams cost no grain calls, nor do channels that keep getting
/// messages; a channel that goes quiet is checked. Read from the gateway's /metrics as an operator would.
/// </summary>
public sealed class HeadCheckCostTests
{
    [Fact]
    public async Task Idle_channels_are_not_checked_and_a_publishing_channel_is()
    {
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=quiet-{Guid.NewGuid():N}"],
            silo: ["--Generator:Interval=00:00:00"],
            gateway: ["--Gateway:HeadCheckInterval=00:00:00.500", "--Gateway:QuietCheckInterval=01:00:00"]);
        var client = cluster.Client;
        using var http = new HttpClient();
        var topic = TestStreams.NewId("quiet");
        var calls = Enumerable.Range(0, 20).Select(i => client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("idle"), topic))).ToList();
        try
        {
            foreach (var call in calls) await call.ReadyAsync();
            // The rounds right after joining check the new channels once more: wait until a whole second (two rounds)
            // passes without a check (bounded: per-channel checks every round would never settle, and fail below).
            var settled = await ChecksAsync();
            for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline;)
            {
                await Task.Delay(1000);
                var now = await ChecksAsync();
                if (now == settled) break;
                settled = now;
            }
            await Task.Delay(3000); // six rounds with nothing published
            Assert.Equal(settled, await ChecksAsync());

            await client.PublishAsync(new PublishRequest { Channel = topic, Data = "wake up" });
            foreach (var call in calls) Assert.Equal("wake up", (await call.ResponseStream.TakeAsync(1, topic))[0].Data);
            await Task.Delay(2000);
            var checks = await ChecksAsync() - settled;
            // The topic once it went quiet after its news: a check or two, not one per channel (21 here) per round.
            Assert.InRange(checks, 1, 6);
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }

        Task<long> ChecksAsync() => HeadChecksAsync(http, cluster.AdminPort);
    }

    /// <summary>
    /// A channel that keeps getting messages needs no check: its next message shows a hole. Checking it every round
    /// cost a grain call per busy channel per round (2,000 a second with 10,000 clients at 1 msg/s).
    /// </summary>
    [Fact]
    public async Task Channels_that_keep_getting_messages_are_not_checked_every_round()
    {
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=busy-{Guid.NewGuid():N}"],
            silo: ["--Generator:Interval=00:00:00.050"],
            gateway: ["--Gateway:HeadCheckInterval=00:00:02", "--Gateway:QuietCheckInterval=01:00:00"]);
        using var http = new HttpClient();
        var ids = Enumerable.Range(0, 5).Select(_ => TestStreams.NewId("busy")).ToArray();
        var calls = ids.Select(id => cluster.Client.Subscribe(TestStreams.Subscribe(id))).ToArray();
        try
        {
            foreach (var call in calls) await call.ReadyAsync();
            // Every own channel gets 20 messages a second, read all along.
            var reading = ids.Select((id, i) => calls[i].ResponseStream.TakeAsync(320, ChannelNames.ForClient(id))).ToArray();
            await Task.Delay(2000);
            var before = await HeadChecksAsync(http, cluster.AdminPort);
            await Task.Delay(12_000); // six rounds
            var checks = await HeadChecksAsync(http, cluster.AdminPort) - before;
            foreach (var messages in await Task.WhenAll(reading)) Assert.Equal(320, messages.Count); // they were busy all along
            // None, unless a channel's messages paused for a second (at most two each here); 30 if checked every round.
            Assert.InRange(checks, 0, 2 * ids.Length);
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }
    }

    private static async Task<long> HeadChecksAsync(HttpClient http, int adminPort)
    {
        // Metrics are collected asynchronously: give the exporter a moment, then sum the series over reasons.
        await Task.Delay(300);
        var text = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics");
        return (long)PrometheusText.Sum(text, "longlived_gateway_head_checks_total");
    }
}
