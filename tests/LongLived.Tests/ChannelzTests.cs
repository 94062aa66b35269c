using System.Net;
using System.Net.Sockets;
using Grpc.Channelz.V1;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Tests;

/// <summary>Known traffic on one connection, then channelz must report exactly it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ChannelzTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Server_and_socket_counters_match_known_traffic_exactly()
    {
        IPEndPoint? clientEndPoint = null;
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{cluster.Port2}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // One connection whose client-side address we know, to find it among the gateway's sockets.
                ConnectCallback = async (context, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    clientEndPoint = (IPEndPoint)socket.LocalEndPoint!;
                    return new NetworkStream(socket, ownsSocket: true);
                },
            },
        });
        var channelz = new Grpc.Channelz.V1.Channelz.ChannelzClient(channel);
        var longlived = new Longlived.LonglivedClient(channel);

        // Streams of earlier tests end asynchronously after their clients cancel them: wait until this gateway has
        // no call in flight but the GetServers asking, so the counters move only with the traffic below.
        GetServersResponse servers;
        var polls = 0;
        var quiet = DateTime.UtcNow + TestStreams.Patience;
        while (true)
        {
            servers = await channelz.GetServersAsync(new GetServersRequest());
            polls++;
            var data = servers.Server[0].Data;
            if (data.CallsStarted - data.CallsSucceeded - data.CallsFailed == 1 || DateTime.UtcNow > quiet) break;
            await Task.Delay(200);
        }
        Assert.True(servers.End);
        var server = Assert.Single(servers.Server);
        Assert.NotNull(server.Ref);
        Assert.NotNull(server.Data);
        Assert.Equal(2, server.ListenSocket.Count); // 127.0.0.1 and [::1]
        var before = server.Data;

        // Known traffic: 2 OK unary, 1 NOT_FOUND unary, 1 stream that ends with OK after n messages.
        var id = TestStreams.NewId("cz");
        await longlived.NotifyReceivedAsync(new Request { Id = id });
        await longlived.NotifyReceivedAsync(new Request { Id = id });
        await Assert.ThrowsAsync<RpcException>(async () => await longlived.UnsubscribeAsync(new Request { Id = TestStreams.NewId("nobody") }));
        var streamed = 0;
        using (var call = longlived.Subscribe(TestStreams.Subscribe(id)))
        {
            await call.ResponseStream.TakeAsync(2, ChannelNames.ForClient(id));
            await cluster.Client(cluster.Port1).UnsubscribeAsync(new Request { Id = id }); // another connection
            streamed = 2;
            using var timeout = new CancellationTokenSource(TestStreams.Patience);
            while (await call.ResponseStream.MoveNext(timeout.Token)) streamed++;
            Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        }

        var after = (await channelz.GetServerAsync(new GetServerRequest { ServerId = server.Ref.ServerId })).Server.Data;
        Assert.Equal(4 + 1, after.CallsStarted - before.CallsStarted);    // 4 calls of traffic + this GetServer
        Assert.Equal(3 + 1, after.CallsSucceeded - before.CallsSucceeded); // 2 notify + stream OK + the last GetServers above
        Assert.Equal(1, after.CallsFailed - before.CallsFailed);          // NOT_FOUND
        Assert.NotNull(after.LastCallStartedTimestamp);

        var refs = await channelz.GetServerSocketsAsync(new GetServerSocketsRequest { ServerId = server.Ref.ServerId });
        Assert.True(refs.End);
        Grpc.Channelz.V1.Socket? ours = null;
        foreach (var socketRef in refs.SocketRef)
        {
            var socket = (await channelz.GetSocketAsync(new GetSocketRequest { SocketId = socketRef.SocketId })).Socket;
            if (socket.Remote?.TcpipAddress?.Port == clientEndPoint!.Port) ours = socket;
        }
        Assert.NotNull(ours);
        Assert.Equal(IPAddress.Loopback.GetAddressBytes(), ours.Remote.TcpipAddress.IpAddress.ToByteArray());
        Assert.Equal(cluster.Port2, ours.Local.TcpipAddress.Port);

        // Calls on this connection: the GetServers polls, 2 notify, unsubscribe, subscribe, GetServer, GetServerSockets,
        // one GetSocket per listed socket before the final one, and the GetSocket below (in flight: started, not ended).
        var final = (await channelz.GetSocketAsync(new GetSocketRequest { SocketId = ours.Ref.SocketId })).Socket.Data;
        var getSockets = refs.SocketRef.Count + 1;
        Assert.Equal(polls + 6 + getSockets, final.StreamsStarted);
        Assert.Equal(polls + 6 + getSockets - 1, final.StreamsSucceeded);
        Assert.Equal(0, final.StreamsFailed);
        Assert.Equal(polls + 6 + getSockets, final.MessagesReceived);
        // Replies: GetServers, 2 notify, the streamed messages, GetServer, GetServerSockets, earlier GetSockets.
        Assert.Equal(polls + 2 + streamed + 1 + 1 + (getSockets - 1), final.MessagesSent);
        Assert.NotNull(final.LastMessageSentTimestamp);

        // channelzcli resolves listen sockets through GetSocket too, and pages with start + 1.
        var listen = (await channelz.GetSocketAsync(new GetSocketRequest { SocketId = server.ListenSocket[0].SocketId })).Socket;
        Assert.Equal(server.ListenSocket[0].SocketId, listen.Ref.SocketId);
        Assert.NotNull(listen.Data);
        var firstPage = await channelz.GetServerSocketsAsync(new GetServerSocketsRequest { ServerId = server.Ref.ServerId, MaxResults = 1 });
        Assert.Single(firstPage.SocketRef);
        Assert.Equal(refs.SocketRef.Count == 1, firstPage.End);
        var empty = await channelz.GetTopChannelsAsync(new GetTopChannelsRequest());
        Assert.True(empty.End);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await channelz.GetSocketAsync(new GetSocketRequest { SocketId = long.MaxValue }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }
}
