using System.Net;
using LongLived.Emulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace LongLived.Tests;

public sealed class GatewayAddressesTests
{
    [Theory]
    [InlineData("static::7071,:7072,:7073", "127.0.0.1:7071,127.0.0.1:7072,127.0.0.1:7073")]
    [InlineData("static:///gw1:7071,gw2:7072", "gw1:7071,gw2:7072")]
    [InlineData("http://127.0.0.1:7070", "127.0.0.1:7070")]
    [InlineData("static:[::1]:7071", "::1:7071")]
    [InlineData("https://gw.example:443", "gw.example:443")]
    public void Parses_the_original_and_the_usual_forms(string address, string expected)
    {
        var parsed = LongLived.Client.GatewayAddresses.Parse(address);
        Assert.Equal(expected, string.Join(',', parsed.Endpoints.Select(e => $"{e.Host}:{e.Port}")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("static:")]
    [InlineData("static::notaport")]
    [InlineData("static::99999")]
    [InlineData("https://x")]
    [InlineData("dns:///a:1,b:2")]
    [InlineData("dns:///noport")]
    public void Rejects_what_it_cannot_use(string address) => Assert.Throws<FormatException>(() => LongLived.Client.GatewayAddresses.Parse(address));

    [Fact]
    public void A_dns_name_is_resolved_by_the_connection_not_listed()
    {
        var parsed = LongLived.Client.GatewayAddresses.Parse("dns:///gateways.longlived:7071");
        Assert.Equal("gateways.longlived:7071", parsed.DnsTarget);
        Assert.Empty(parsed.Endpoints);
    }
}

[Collection(ClusterCollection.Name)]
public sealed class EmulatorRunTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Emulated_clients_across_two_gateways_see_no_gap_and_no_duplicate()
    {
        var settings = new EmulatorSettings
        {
            Address = $"static::{cluster.Port1},:{cluster.Port2}",
            Clients = 6,
            Duration = TimeSpan.FromSeconds(4),
            Topics = [TestStreams.NewId("emu")],
            PublishRate = 10,
            LogMessages = false,
        };

        var report = await new EmulatorRun(settings, NullLoggerFactory.Instance).RunAsync(CancellationToken.None);

        Assert.Equal(6, report.Clients);
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.Unrecoverable);
        Assert.Equal(0, report.PublishFailures);
        Assert.True(report.Published > 0);
        // Every client got its own generated data and the topic (200 ms generator, 10/s topic, 4 s).
        Assert.All(report.PerClient, c => Assert.True(c.Received >= 10, $"{c.Id} received {c.Received}"));
        Assert.True(report.LatencyMs.Count > 0);
    }
}

/// <summary>The emulator's own channelz, next to its control port: its gateway channel and one subchannel per gateway address.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EmulatorChannelzTests(ClusterFixture cluster)
{
    [Fact]
    public async Task The_emulator_reports_its_channel_and_a_subchannel_per_gateway()
    {
        var settings = new EmulatorSettings
        {
            Address = $"static::{cluster.Port1},:{cluster.Port2}",
            Clients = 4,
            LogMessages = false,
            Channelz = true,
        };
        using var stop = new CancellationTokenSource();
        var run = new EmulatorRun(settings, NullLoggerFactory.Instance);
        var running = run.RunAsync(stop.Token);
        var controlPort = ClusterFixture.FreePort();
        await using var control = await ControlApi.StartAsync(run, controlPort);
        var channelz = new Grpc.Channelz.V1.Channelz.ChannelzClient(cluster.Channel(controlPort + 1));

        // Wait until both subchannels are connected and the clients' calls went through them.
        Grpc.Channelz.V1.Channel channel;
        var deadline = DateTime.UtcNow + TestStreams.Patience;
        do
        {
            await Task.Delay(300);
            var top = await channelz.GetTopChannelsAsync(new Grpc.Channelz.V1.GetTopChannelsRequest());
            Assert.True(top.End);
            channel = Assert.Single(top.Channel);
        } while ((channel.Data.CallsStarted < 8 || channel.Data.State.State != Grpc.Channelz.V1.ChannelConnectivityState.Types.State.Ready) && DateTime.UtcNow < deadline);

        Assert.Equal(settings.Address, channel.Data.Target);
        Assert.Equal(Grpc.Channelz.V1.ChannelConnectivityState.Types.State.Ready, channel.Data.State.State);
        Assert.Contains(channel.Data.Trace.Events, e => e.Description.StartsWith("Resolver state updated: 2 address(es)"));
        Assert.Contains(channel.Data.Trace.Events, e => e.Description == "Channel Connectivity change to READY");
        Assert.Equal(2, channel.SubchannelRef.Count);

        long subchannelCalls = 0;
        var addresses = new List<string>();
        foreach (var reference in channel.SubchannelRef)
        {
            var subchannel = (await channelz.GetSubchannelAsync(new Grpc.Channelz.V1.GetSubchannelRequest { SubchannelId = reference.SubchannelId })).Subchannel;
            Assert.NotNull(subchannel.Ref);
            Assert.Equal(Grpc.Channelz.V1.ChannelConnectivityState.Types.State.Ready, subchannel.Data.State.State);
            subchannelCalls += subchannel.Data.CallsStarted;
            addresses.Add(subchannel.Data.Target);
        }
        var again = (await channelz.GetChannelAsync(new Grpc.Channelz.V1.GetChannelRequest { ChannelId = channel.Ref.ChannelId })).Channel;
        stop.Cancel();
        await running;

        Assert.Equal(new[] { $"127.0.0.1:{cluster.Port1}", $"127.0.0.1:{cluster.Port2}" }.Order(), addresses.Order());
        Assert.InRange(subchannelCalls, channel.Data.CallsStarted, again.Data.CallsStarted); // every call went through a subchannel
    }
}

[Collection(ClusterCollection.Name)]
public sealed class EmulatorEndOfRunTests(ClusterFixture cluster)
{
    /// <summary>
    /// A publisher busy at 200/s always has a Publish in flight when the run ends: grpc-dotnet reports that call as
    /// RpcException(Cancelled), which used to escape the run, so no report was written and the exit code was 1.
    /// </summary>
    [Fact]
    public async Task A_run_that_publishes_fast_ends_cleanly_with_a_report()
    {
        var settings = new EmulatorSettings
        {
            Address = $"static::{cluster.Port1},:{cluster.Port2}",
            Clients = 20,
            Duration = TimeSpan.FromSeconds(3),
            Topics = [TestStreams.NewId("fast")],
            PublishRate = 200,
            LogMessages = false,
        };

        var logs = new CapturedLogs();
        var report = await new EmulatorRun(settings, logs.Factory).RunAsync(CancellationToken.None);

        Assert.Empty(logs.Errors);
        Assert.Equal(20, report.Clients);
        Assert.True(report.Published > 50, $"published only {report.Published}");
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
    }
}
