using System.Collections.Concurrent;
using System.Net;

namespace LongLived.Channelz;

/// <summary>
/// Every channelz entity of this process. Ids come from one counter for all kinds, are positive, ordered and never
/// reused (gRFC A14, as grpc-go does); sockets leave the registry when their connection closes.
/// </summary>
public sealed class ChannelzRegistry
{
    private long _lastId;
    private readonly ConcurrentDictionary<long, ChannelzServer> _servers = new();
    private readonly ConcurrentDictionary<long, ChannelzSocket> _sockets = new();
    private readonly ConcurrentDictionary<long, ChannelzChannel> _channels = new();
    private readonly ConcurrentDictionary<long, ChannelzChannel> _subchannels = new();

    public IEnumerable<ChannelzServer> Servers => _servers.Values;
    public IEnumerable<ChannelzChannel> TopChannels => _channels.Values;

    public ChannelzChannel AddChannel(string target)
    {
        var channel = new ChannelzChannel(NextId(), target);
        channel.Trace("Channel created");
        _channels[channel.Id] = channel;
        return channel;
    }

    public ChannelzChannel AddSubchannel(ChannelzChannel parent, string address)
    {
        var subchannel = new ChannelzChannel(NextId(), address);
        parent.Subchannels[subchannel.Id] = subchannel;
        _subchannels[subchannel.Id] = subchannel;
        return subchannel;
    }

    public void RemoveSubchannel(ChannelzChannel parent, ChannelzChannel subchannel)
    {
        parent.Subchannels.TryRemove(subchannel.Id, out _);
        _subchannels.TryRemove(subchannel.Id, out _);
    }

    public ChannelzChannel? Channel(long id) => _channels.GetValueOrDefault(id);
    public ChannelzChannel? Subchannel(long id) => _subchannels.GetValueOrDefault(id);

    public ChannelzServer AddServer(string name, IEnumerable<EndPoint> listenAddresses)
    {
        var server = new ChannelzServer(NextId(), name);
        foreach (var address in listenAddresses)
        {
            var listen = new ChannelzSocket(NextId(), address.ToString()!, address, null);
            server.ListenSockets.Add(listen);
            _sockets[listen.Id] = listen;
        }
        _servers[server.Id] = server;
        return server;
    }

    public ChannelzSocket AddSocket(ChannelzServer server, EndPoint? local, EndPoint? remote)
    {
        // grpc-go leaves the name of accepted sockets empty; the addresses say everything.
        var socket = new ChannelzSocket(NextId(), "", local, remote);
        _sockets[socket.Id] = socket;
        server.Sockets[socket.Id] = socket;
        return socket;
    }

    public void RemoveSocket(ChannelzServer server, ChannelzSocket socket)
    {
        server.Sockets.TryRemove(socket.Id, out _);
        _sockets.TryRemove(socket.Id, out _);
    }

    public ChannelzServer? Server(long id) => _servers.GetValueOrDefault(id);
    public ChannelzSocket? Socket(long id) => _sockets.GetValueOrDefault(id);

    private long NextId() => Interlocked.Increment(ref _lastId);
}
