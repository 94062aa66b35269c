using Grpc.Channelz.V1;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Emulator;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace LongLived.Tests.Failover;

/// <summary>Streams that end on purpose: at their maximum age (rebalancing), and when the cluster stays away.</summary>
public sealed class RebalanceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_gateway_that_joins_later_gets_streams_through_max_stream_age_and_nothing_is_lost()
    {
        await using var cluster = await ProcessCluster.StartAsync(2, "--Gateway:MaxStreamAge=00:00:03");
        cluster.Gateways[1].Kill(); // the "new" gateway is not there yet
        // No NotifyReceived: then every call the new gateway sees is a Subscribe.
        var settings = new EmulatorSettings { Address = cluster.Address, Clients = 40, LogMessages = false, Notify = false };
        using var stop = new CancellationTokenSource();
        var running = new EmulatorRun(settings, NullLoggerFactory.Instance).RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(5));

        await cluster.RestartGatewayAsync(1);
        await Task.Delay(TimeSpan.FromSeconds(12)); // several maximum ages: streams move as they expire

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.GatewayPorts[1]}");
        var servers = await new Grpc.Channelz.V1.Channelz.ChannelzClient(channel).GetServersAsync(new GetServersRequest());
        var subscribesOnNewGateway = servers.Server[0].Data.CallsStarted - 1; // minus this GetServers
        stop.Cancel();
        var report = await running.WaitAsync(TimeSpan.FromMinutes(1));
        output.WriteLine($"subscriptions on the new gateway {subscribesOnNewGateway}; received {report.Received} gaps {report.Gaps} duplicates {report.Duplicates} reconnects {report.Reconnects}");

        Assert.True(subscribesOnNewGateway >= 10, $"only {subscribesOnNewGateway} subscriptions reached the new gateway");
        Assert.True(report.Reconnects >= 40, $"streams did not end at their maximum age ({report.Reconnects} reconnects)");
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.Unrecoverable);
    }

    [Fact]
    public async Task Streams_end_with_UNAVAILABLE_when_the_cluster_stays_unreachable()
    {
        await using var cluster = await ProcessCluster.StartAsync(1, "--Gateway:ClusterLossTimeout=00:00:03");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.GatewayPorts[0]}");
        var id = TestStreams.NewId("orphan");
        using var call = new Longlived.LonglivedClient(channel).Subscribe(TestStreams.Subscribe(id));
        await call.ResponseStream.TakeAsync(1, ChannelNames.ForClient(id));

        cluster.Silo.Kill();

        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (await call.ResponseStream.MoveNext(timeout.Token)) { }
        });
        Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
        Assert.Contains("cluster", ended.Status.Detail);
    }
}
