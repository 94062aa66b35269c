using System.Text.RegularExpressions;
using Grpc.Core;
using LongLived.Contracts;
using LongLived.Gateway;
using LongLived.Silo;
using Microsoft.AspNetCore.Builder;

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
        string[] common = ["--Logging:LogLevel:Default=Critical", $"--Orleans:ClusterId=quiet-{Guid.NewGuid():N}"];
        var siloGatewayPort = ClusterFixture.FreePort();
        var siloBuilder = WebApplication.CreateBuilder([.. common, $"--Orleans:SiloPort={ClusterFixture.FreePort()}",
            $"--Orleans:GatewayPort={siloGatewayPort}", "--Silo:HttpPort=0", "--Generator:Interval=00:00:00"]);
        siloBuilder.AddLongLivedSilo();
        await using var silo = siloBuilder.Build();
        await silo.StartAsync();
        var port = ClusterFixture.FreePort();
        var adminPort = ClusterFixture.FreePort();
        await using var gateway = GatewaySetup.Build([.. common, $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPort}",
            $"--Orleans:GatewayPorts:0={siloGatewayPort}", "--Gateway:HeadCheckInterval=00:00:00.500", "--Gateway:QuietCheckInterval=01:00:00"]);
        await gateway.StartAsync();
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Longlived.LonglivedClient(channel);
        using var http = new HttpClient();
        var topic = TestStreams.NewId("quiet");
        var calls = Enumerable.Range(0, 20).Select(i => client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("idle"), topic))).ToList();
        try
        {
            foreach (var call in calls) await call.ReadyAsync();
            await Task.Delay(2000); // the rounds right after joining check the new channels once more
            var settled = await ChecksAsync();
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
            await gateway.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
            await silo.StopAsync().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        }

        async Task<long> ChecksAsync()
        {
            // Metrics are collected asynchronously: give the exporter a moment, then sum the series over reasons.
            await Task.Delay(300);
            var text = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics");
            return Regex.Matches(text, @"^longlived_gateway_head_checks_total\{[^}]*\} (\d+)", RegexOptions.Multiline)
                .Sum(m => long.Parse(m.Groups[1].Value));
        }
    }
}
