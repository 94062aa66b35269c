using System.Threading.Channels;
using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Delivery;

namespace LongLived.Gateway.Sessions;

/// <summary>
/// One live Subscribe call: a bounded buffer of what its channels delivered, and the signal that ends it
/// (replaced, unsubscribed, overflow). The Orleans delivery path only ever enqueues; the call's own loop writes.
/// Not disposable on purpose: a delivery already under way may still offer to a session that has just ended.
/// </summary>
public sealed class SubscriberSession : IChannelSink
{
    private readonly Channel<Signal> _buffer;
    private readonly CancellationTokenSource _ended = new();
    private Status? _endStatus;
    private volatile bool _readsStopped;

    public SubscriberSession(string clientId, IReadOnlyList<string> channels, int capacity, ClientAttempt? attempt = null)
    {
        ClientId = clientId;
        Channels = channels;
        Attempt = attempt;
        _buffer = Channel.CreateBounded<Signal>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public Guid SessionId { get; } = Guid.NewGuid();
    public string ClientId { get; }
    /// <summary>When the call arrived (Stopwatch timestamp): orders this Subscribe among the client's others (<see cref="SessionInfo.Waited"/>).</summary>
    public long Arrived { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();
    /// <summary>The client's own name for this call (Request.client_instance and attempt), if it gave one.</summary>
    public ClientAttempt? Attempt { get; }
    /// <summary>The client's own channel first, then its topics.</summary>
    public IReadOnlyList<string> Channels { get; }
    public ChannelReader<Signal> Buffer => _buffer.Reader;
    public CancellationToken Ended => _ended.Token;
    /// <summary>Why the session ended, once it has.</summary>
    public Status? EndStatus { get { lock (_ended) return _endStatus; } }

    public void Offer(ChannelMessage message, Response? encoded) => Enqueue(new Signal(message.Channel, message, null) { Encoded = encoded });

    /// <summary>How a session ends when a newer Subscribe of its client id is live (told by EndSession, or by the fence).</summary>
    public static readonly Status Replaced = new(StatusCode.Aborted, "replaced: a newer Subscribe for this client id is live");

    /// <summary>The fence the client grain gave this session (0 until its Subscribe returns).</summary>
    public long Fence { get; set; }

    public void OfferHead(string channel, ChannelHead head, bool restarted = false)
    {
        if (Fence > 0 && head.Owner > Fence && channel == Channels[0])
        {
            // A newer session of this client id exists, or the client unsubscribed; the EndSession saying so did not
            // reach us (lost, or still on its way): end as it would have.
            End(head.OwnerLeft ? Status.DefaultSuccess : Replaced);
            return;
        }
        Enqueue(new Signal(channel, null, head, restarted));
    }

    /// <summary>Ends the call with <paramref name="status"/> (the first reason wins).</summary>
    public void End(Status status)
    {
        lock (_ended)
        {
            if (_endStatus is not null) return;
            _endStatus = status;
        }
        _ended.Cancel();
    }

    /// <summary>
    /// Ends the buffer's reads when <paramref name="stop"/> is cancelled: the reader's wait then returns false. The relay
    /// waits without a token because a cancellable wait allocates a waiter and registers on the token each time it
    /// waits, once per message for a stream that keeps up (83 % of a fan-out gateway's allocations); this registers once.
    /// </summary>
    public CancellationTokenRegistration StopReadsOn(CancellationToken stop) => stop.UnsafeRegister(static state =>
    {
        var session = (SubscriberSession)state!;
        session._readsStopped = true; // before completing: a write refused from now on is not an overflow
        session._buffer.Writer.TryComplete();
    }, this);

    private void Enqueue(Signal signal)
    {
        if (!_buffer.Writer.TryWrite(signal) && !_readsStopped)
        {
            // A slow consumer must never slow the others or grow memory: end it; it resumes from its position.
            End(new Status(StatusCode.ResourceExhausted, $"stream buffer full ({_buffer.Reader.Count} messages): consumer too slow, resume from your positions"));
        }
    }

    /// <summary>A live message, or a head check result (exactly one of the two is set; <see cref="Restarted"/>: after a new activation).</summary>
    public readonly record struct Signal(string Channel, ChannelMessage? Message, ChannelHead? Head, bool Restarted = false)
    {
        /// <summary>With a live message: its response encoded once for the channel's local subscribers, if it has several.</summary>
        public Response? Encoded { get; init; }
    }
}
