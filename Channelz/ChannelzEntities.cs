using System.Net;

namespace LongLived.Channelz;

/// <summary>A gRPC server in channelz terms: one per gRPC listener. Counters are updated lock-free on the call path.</summary>
public sealed class ChannelzServer(long id, string name)
{
    public long Id { get; } = id;
    public string Name { get; } = name;
    public CallCounters Calls { get; } = new();
    public List<ChannelzSocket> ListenSockets { get; } = [];
    public System.Collections.Concurrent.ConcurrentDictionary<long, ChannelzSocket> Sockets { get; } = new();
}

/// <summary>A listen socket or an accepted HTTP/2 connection ("normal" socket).</summary>
public sealed class ChannelzSocket(long id, string name, EndPoint? local, EndPoint? remote)
{
    public long Id { get; } = id;
    public string Name { get; } = name;
    public EndPoint? Local { get; } = local;
    public EndPoint? Remote { get; } = remote;
    public long StreamsStarted;
    public long StreamsSucceeded;
    public long StreamsFailed;
    public long MessagesSent;
    public long MessagesReceived;
    public long LastRemoteStreamCreatedTicks;
    public long LastMessageSentTicks;
    public long LastMessageReceivedTicks;

    public void StreamStarted()
    {
        Interlocked.Increment(ref StreamsStarted);
        Interlocked.Exchange(ref LastRemoteStreamCreatedTicks, DateTime.UtcNow.Ticks);
    }

    // Per message, on every stream of the connection: a plain store is enough for a timestamp (a 64-bit write is atomic;
    // the latest writer wins), and the full fence of an exchange cost more than the count.
    public void MessageSent()
    {
        Interlocked.Increment(ref MessagesSent);
        Volatile.Write(ref LastMessageSentTicks, DateTime.UtcNow.Ticks);
    }

    public void MessageReceived()
    {
        Interlocked.Increment(ref MessagesReceived);
        Volatile.Write(ref LastMessageReceivedTicks, DateTime.UtcNow.Ticks);
    }
}
