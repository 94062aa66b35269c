using System.Collections.Concurrent;
using Grpc.Core;

namespace LongLived.Channelz;

/// <summary>A client channel (top channel) or one of its subchannels: target, connectivity state, calls and a bounded trace.</summary>
public sealed class ChannelzChannel(long id, string target)
{
    private const int MaxTraceEvents = 64;
    private readonly Queue<TraceEvent> _trace = new();
    private long _eventsLogged;
    private int _state = (int)ConnectivityState.Idle;

    public long Id { get; } = id;
    public string Target { get; } = target;
    public DateTime Created { get; } = DateTime.UtcNow;
    public CallCounters Calls { get; } = new();
    public ConnectivityState State => (ConnectivityState)Volatile.Read(ref _state);
    /// <summary>Subchannels of a top channel (empty for a subchannel).</summary>
    public ConcurrentDictionary<long, ChannelzChannel> Subchannels { get; } = new();
    public long EventsLogged => Interlocked.Read(ref _eventsLogged);

    /// <summary>Records a state change as a trace event, as grpc-go does ("Channel Connectivity change to READY").</summary>
    public void SetState(ConnectivityState state, string what)
    {
        if (Interlocked.Exchange(ref _state, (int)state) != (int)state) Trace($"{what} Connectivity change to {Name(state)}");
    }

    public void Trace(string description, bool warning = false)
    {
        lock (_trace)
        {
            _trace.Enqueue(new TraceEvent(description, warning, DateTime.UtcNow));
            while (_trace.Count > MaxTraceEvents) _trace.Dequeue();
            _eventsLogged++;
        }
    }

    public IReadOnlyList<TraceEvent> TraceEvents()
    {
        lock (_trace) return [.. _trace];
    }

    public static string Name(ConnectivityState state) => state switch
    {
        ConnectivityState.Idle => "IDLE",
        ConnectivityState.Connecting => "CONNECTING",
        ConnectivityState.Ready => "READY",
        ConnectivityState.TransientFailure => "TRANSIENT_FAILURE",
        _ => "SHUTDOWN",
    };

    public sealed record TraceEvent(string Description, bool Warning, DateTime Timestamp);
}
