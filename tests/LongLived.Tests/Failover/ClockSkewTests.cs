using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Tests.Failover;

/// <summary>
/// Issue 16.4: which of a client's Subscribes is the newest must not depend on the gateways' wall clocks. A gateway
/// whose host clock runs an hour behind (libfaketime, as a drifted host) gets a client that moves to it from another
/// gateway: the move must win, as it does between gateways that agree on the time.
/// </summary>
public sealed class ClockSkewTests
{
    [Fact]
    public async Task A_client_moving_to_a_gateway_whose_clock_is_an_hour_behind_is_served_there()
    {
        await using var cluster = await ProcessCluster.StartAsync(2, (i, node) => i == 1 ? node.WithClockOffset("-1h") : node);
        // The shift took (libfaketime loaded): Kestrel dates its responses by the host clock.
        using (var http = new HttpClient())
        {
            var date = (await http.GetAsync($"http://127.0.0.1:{cluster.AdminPorts[1]}/healthz")).Headers.Date;
            Assert.True(date < DateTimeOffset.UtcNow.AddMinutes(-50), $"gateway 2 answered with Date {date}: its clock is not an hour behind");
        }
        using var first = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.GatewayPorts[0]}");
        using var behind = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.GatewayPorts[1]}");
        var id = TestStreams.NewId("skew");
        var channel = ChannelNames.ForClient(id);

        using var before = new Longlived.LonglivedClient(first).Subscribe(TestStreams.Subscribe(id));
        var seen = await before.ResponseStream.TakeAsync(1, channel);

        using var after = new Longlived.LonglivedClient(behind).Subscribe(TestStreams.Subscribe(id).WithPosition(channel, seen[0].Offset, seen[0].Epoch));
        var next = await after.ResponseStream.TakeAsync(2, channel);
        Assert.Equal([seen[0].Offset + 1, seen[0].Offset + 2], next.Select(m => m.Offset));
        Assert.Equal(StatusCode.Aborted, (await before.ResponseStream.EndAsync()).StatusCode); // replaced by the move
    }
}
