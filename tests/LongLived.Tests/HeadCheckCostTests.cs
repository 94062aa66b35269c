using System.Text.RegularExpressions;
using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Tests;

/// <summary>
/// The tail-loss check follows traffic: idle streams cost no grain calls, a channel that publishes is checked while
/// it does (and one round after). Read from the gateway's /metrics as an operator would.
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
            // The topic while it has news and the round after: a few checks, not one per channel (21 here) per round.
            Assert.InRange(checks, 1, 6);
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }

        async Task<long> ChecksAsync()
        {
            // Metrics are collected asynchronously: give the exporter a moment, then sum the series over reasons.
            await Task.Delay(300);
            var text = await http.GetStringAsync($"http://127.0.0.1:{cluster.AdminPort}/metrics");
            return Regex.Matches(text, @"^longlived_gateway_head_checks_total\{[^}]*\} (\d+)", RegexOptions.Multiline)
                .Sum(m => long.Parse(m.Groups[1].Value));
        }
    }
}
