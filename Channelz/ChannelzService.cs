using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Channelz.V1;
using Grpc.Core;

namespace LongLived.Channelz;

/// <summary>
/// grpc.channelz.v1.Channelz for this process, with grpc-go's semantics: ascending ids from start_*_id, max_results 0
/// means "all of it" (end = true), end = true only when nothing is left; Ref and Data always set (channelzcli
/// dereferences them); GetSocket answers for listen sockets too. A process without client channels (the gateway
/// reaches its cluster through Orleans, not gRPC) answers GetTopChannels with an empty, complete page.
/// </summary>
public sealed class ChannelzService(ChannelzRegistry registry) : Grpc.Channelz.V1.Channelz.ChannelzBase
{
    public override Task<GetTopChannelsResponse> GetTopChannels(GetTopChannelsRequest request, ServerCallContext context)
    {
        var (page, end) = Page(registry.TopChannels, c => c.Id, request.StartChannelId, request.MaxResults);
        var response = new GetTopChannelsResponse { End = end };
        response.Channel.AddRange(page.Select(ToChannel));
        return Task.FromResult(response);
    }

    public override Task<GetChannelResponse> GetChannel(GetChannelRequest request, ServerCallContext context) =>
        Task.FromResult(new GetChannelResponse { Channel = ToChannel(registry.Channel(request.ChannelId) ?? throw NotFound("channel", request.ChannelId)) });

    public override Task<GetSubchannelResponse> GetSubchannel(GetSubchannelRequest request, ServerCallContext context)
    {
        var subchannel = registry.Subchannel(request.SubchannelId) ?? throw NotFound("subchannel", request.SubchannelId);
        return Task.FromResult(new GetSubchannelResponse
        {
            Subchannel = new Subchannel { Ref = new SubchannelRef { SubchannelId = subchannel.Id, Name = subchannel.Target }, Data = ToChannelData(subchannel) },
        });
    }

    public override Task<GetServersResponse> GetServers(GetServersRequest request, ServerCallContext context)
    {
        var (page, end) = Page(registry.Servers, s => s.Id, request.StartServerId, request.MaxResults);
        var response = new GetServersResponse { End = end };
        response.Server.AddRange(page.Select(ToServer));
        return Task.FromResult(response);
    }

    public override Task<GetServerResponse> GetServer(GetServerRequest request, ServerCallContext context) =>
        Task.FromResult(new GetServerResponse { Server = ToServer(registry.Server(request.ServerId) ?? throw NotFound("server", request.ServerId)) });

    public override Task<GetServerSocketsResponse> GetServerSockets(GetServerSocketsRequest request, ServerCallContext context)
    {
        var server = registry.Server(request.ServerId) ?? throw NotFound("server", request.ServerId);
        var (page, end) = Page(server.Sockets.Values, s => s.Id, request.StartSocketId, request.MaxResults);
        var response = new GetServerSocketsResponse { End = end };
        response.SocketRef.AddRange(page.Select(SocketRef));
        return Task.FromResult(response);
    }

    public override Task<GetSocketResponse> GetSocket(GetSocketRequest request, ServerCallContext context) =>
        Task.FromResult(new GetSocketResponse { Socket = ToSocket(registry.Socket(request.SocketId) ?? throw NotFound("socket", request.SocketId)) });

    private static (List<T> Page, bool End) Page<T>(IEnumerable<T> items, Func<T, long> id, long start, long maxResults)
    {
        var ordered = items.Where(i => id(i) >= start).OrderBy(id).ToList();
        if (maxResults <= 0 || ordered.Count <= maxResults) return (ordered, true);
        return (ordered.GetRange(0, (int)maxResults), false);
    }

    private static Channel ToChannel(ChannelzChannel c)
    {
        var channel = new Channel { Ref = new ChannelRef { ChannelId = c.Id, Name = c.Target }, Data = ToChannelData(c) };
        channel.SubchannelRef.AddRange(c.Subchannels.Values.OrderBy(s => s.Id).Select(s => new SubchannelRef { SubchannelId = s.Id, Name = s.Target }));
        return channel;
    }

    private static ChannelData ToChannelData(ChannelzChannel c)
    {
        var trace = new ChannelTrace { NumEventsLogged = c.EventsLogged, CreationTimestamp = Timestamp.FromDateTime(c.Created) };
        trace.Events.AddRange(c.TraceEvents().Select(e => new ChannelTraceEvent
        {
            Description = e.Description,
            Severity = e.Warning ? ChannelTraceEvent.Types.Severity.CtWarning : ChannelTraceEvent.Types.Severity.CtInfo,
            Timestamp = Timestamp.FromDateTime(e.Timestamp),
        }));
        return new ChannelData
        {
            State = new ChannelConnectivityState { State = ToState(c.State) },
            Target = c.Target,
            Trace = trace,
            CallsStarted = Interlocked.Read(ref c.Calls.Started),
            CallsSucceeded = Interlocked.Read(ref c.Calls.Succeeded),
            CallsFailed = Interlocked.Read(ref c.Calls.Failed),
            LastCallStartedTimestamp = Time(Interlocked.Read(ref c.Calls.LastStartedTicks)),
        };
    }

    private static ChannelConnectivityState.Types.State ToState(Grpc.Core.ConnectivityState state) => state switch
    {
        Grpc.Core.ConnectivityState.Idle => ChannelConnectivityState.Types.State.Idle,
        Grpc.Core.ConnectivityState.Connecting => ChannelConnectivityState.Types.State.Connecting,
        Grpc.Core.ConnectivityState.Ready => ChannelConnectivityState.Types.State.Ready,
        Grpc.Core.ConnectivityState.TransientFailure => ChannelConnectivityState.Types.State.TransientFailure,
        _ => ChannelConnectivityState.Types.State.Shutdown,
    };

    private static Server ToServer(ChannelzServer s)
    {
        var server = new Server
        {
            Ref = new ServerRef { ServerId = s.Id, Name = s.Name },
            Data = new ServerData
            {
                CallsStarted = Interlocked.Read(ref s.Calls.Started),
                CallsSucceeded = Interlocked.Read(ref s.Calls.Succeeded),
                CallsFailed = Interlocked.Read(ref s.Calls.Failed),
                LastCallStartedTimestamp = Time(Interlocked.Read(ref s.Calls.LastStartedTicks)),
            },
        };
        server.ListenSocket.AddRange(s.ListenSockets.Select(SocketRef));
        return server;
    }

    private static Socket ToSocket(ChannelzSocket s) => new()
    {
        Ref = SocketRef(s),
        Data = new SocketData
        {
            StreamsStarted = Interlocked.Read(ref s.StreamsStarted),
            StreamsSucceeded = Interlocked.Read(ref s.StreamsSucceeded),
            StreamsFailed = Interlocked.Read(ref s.StreamsFailed),
            MessagesSent = Interlocked.Read(ref s.MessagesSent),
            MessagesReceived = Interlocked.Read(ref s.MessagesReceived),
            LastRemoteStreamCreatedTimestamp = Time(Interlocked.Read(ref s.LastRemoteStreamCreatedTicks)),
            LastMessageSentTimestamp = Time(Interlocked.Read(ref s.LastMessageSentTicks)),
            LastMessageReceivedTimestamp = Time(Interlocked.Read(ref s.LastMessageReceivedTicks)),
        },
        Local = ToAddress(s.Local),
        Remote = ToAddress(s.Remote),
    };

    private static SocketRef SocketRef(ChannelzSocket s) => new() { SocketId = s.Id, Name = s.Name };

    private static Address? ToAddress(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint ip => new Address
        {
            TcpipAddress = new Address.Types.TcpIpAddress
            {
                // IPv4 clients of a dual-stack listener arrive as ::ffff:a.b.c.d; channelz wants the 4-byte form.
                IpAddress = ByteString.CopyFrom((ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).GetAddressBytes()),
                Port = ip.Port,
            },
        },
        null => null,
        _ => new Address { OtherAddress = new Address.Types.OtherAddress { Name = endpoint.ToString() ?? "" } },
    };

    private static Timestamp? Time(long ticks) => ticks == 0 ? null : Timestamp.FromDateTime(new DateTime(ticks, DateTimeKind.Utc));

    private static RpcException NotFound(string what, long id) => new(new Status(StatusCode.NotFound, $"no {what} with id {id}"));
}
