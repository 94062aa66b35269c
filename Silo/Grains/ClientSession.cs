using LongLived.Contracts.Grains;
using LongLived.Silo.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// The client half of a client's own channel grain: which gateway holds the client's live session (the newest Subscribe
/// wins, fenced), its topics, and its acknowledged positions, used to resume a client that subscribes again without
/// positions, as clients of the original contract do. One activation per client: the own channel and this state live
/// together, so a Subscribe is one grain call and the fence needs no message to reach the channel.
/// Not written on a Subscribe's path: a Subscribe that replaces a session, and acknowledgements, are stored within
/// <see cref="ClientOptions.AckFlushInterval"/>, batched; any other Subscribe and a Disconnect with the next write or
/// when the activation ends; an Unsubscribe before it answers. If an activation is lost inside that interval, the fence, seeded from the clock (<see cref="NewFence"/>),
/// still fences the sessions it knew.
/// </summary>
internal sealed class ClientSession(ChannelGrain owner)
{
    // The grain's state and services, reached through it rather than kept here (memory per client).
    private string OwnChannel => owner.ChannelName;
    private IPersistentState<ClientState> State => owner.ClientState;
    private ClientOptions Options => owner.ClientOptions;
    private StateAtShutdown Shutdown => owner.Shutdown;
    private TimeProvider Time => owner.Time;
    private ILogger Logger => owner.Logger;
    private ClientState S => State.State;
    // Made when needed (logs, EndSession), not kept: memory per client.
    private string ClientId => OwnChannel[ChannelNames.ClientPrefix.Length..];
    private bool _dirty; // changed since the last write
    private (Guid Session, ChannelPosition Start)? _starting; // where a session starts, until its gateway says it started
    private IGrainTimer? _flush; // set while changes wait to be stored
    private SemaphoreSlim? _writing; // the grain is reentrant: one write at a time, or the second fails its ETag; made at the first write (memory per client)

    /// <summary>The fence of the newest session or Unsubscribe (0: none known), and whether it was an Unsubscribe.</summary>
    public long Fence => S.Fence;
    public bool Left => S.FenceLeft;
    /// <summary>Whether this activation knows a live session.</summary>
    public bool HasSession => S.Session is not null;

    /// <summary>
    /// Registers a new live session with a new fence, and ends the previous one (<see cref="SessionEndReason.Replaced"/>)
    /// unless that one reached its gateway later (both placed on this grain's clock by their <see cref="SessionInfo.Waited"/>),
    /// in which case this one is refused. Returns whether it was accepted, and the position the client last acknowledged
    /// in its own channel. <paramref name="joined"/>: a gateway is joined to the own channel, so another session may
    /// be live that this activation does not know. Synchronous: it runs whole between the channel's awaits.
    /// </summary>
    public (bool Accepted, ChannelPosition? Acknowledged) Connect(SessionInfo session, bool joined)
    {
        var previous = S.Session;
        var arrivedAt = Time.GetUtcNow() - session.Waited;
        if (previous is not null && previous.SessionId != session.SessionId && IsOlder(session, arrivedAt, previous))
        {
            // A Subscribe made or received before the live one (delayed, or abandoned by its client) must not end it.
            Logger.LogInformation("Client {ClientId}: session {Stale} (at its gateway {StaleAt:O}, attempt {StaleAttempt}) refused: {Live} (at its gateway {LiveAt:O}, attempt {LiveAttempt}) is newer",
                ClientId, session.SessionId, arrivedAt, session.Attempt?.Number, previous.SessionId, S.SessionArrivedAt, previous.Attempt?.Number);
            return (false, null);
        }
        var resumeFrom = S.Acknowledged?.GetValueOrDefault(OwnChannel);
        S.Session = session;
        S.SessionArrivedAt = arrivedAt;
        S.ConnectedAt = Time.GetUtcNow();
        S.SessionStart = null;
        S.AcksSinceStart = 0;
        S.Sessions++;
        _starting = null;
        if (!S.Topics.SequenceEqual(session.Topics))
        {
            S.Topics = [.. session.Topics];
            // Positions of channels the client no longer joins are dropped: the state stays bounded by its subscription.
            if (S.Acknowledged is { } acknowledged)
            {
                foreach (var channel in acknowledged.Keys.Where(c => !IsSubscribed(c)).ToArray()) acknowledged.Remove(channel);
            }
        }
        NewFence(left: false);
        // A session that may replace another is stored within the flush interval, so that an activation lost before the
        // write cannot let the replaced one back. Any other is stored with the next write (acknowledgements,
        // deactivation), not one of its own: 10,000 clients connecting at once were 10,000 writes a second later, most
        // of the own-channel 10k p99. Its fence is seeded from the clock, and if its activation is lost first, the
        // session is still found through its gateway's join (see the channel grain's Unsubscribe).
        var replaced = previous is not null && previous.SessionId != session.SessionId ? previous : null;
        if (joined || replaced is not null) ScheduleFlush();
        if (replaced is not null)
        {
            Logger.LogInformation("Client {ClientId}: session {New} on {NewGateway} replaces {Old} on {OldGateway}",
                ClientId, session.SessionId, session.GatewayId, replaced.SessionId, replaced.GatewayId);
            // One-way: a dead gateway must not delay the new session. Its stream is gone anyway.
            _ = replaced.Gateway.EndSession(ClientId, replaced.SessionId, SessionEndReason.Replaced);
        }
        return (true, resumeFrom);
    }

    /// <summary>Where the session will start in the own channel, once its gateway says it started (<see cref="Started"/>).</summary>
    public void Starting(Guid sessionId, ChannelPosition start) => _starting = (sessionId, start);

    /// <summary>
    /// The session's gateway is about to send its first message: acknowledgements without positions count on from where
    /// it starts. Until then they can only be late ones of the previous stream (sent before it ended), and are dropped:
    /// counted on top of the new start they would move the position past a message the client never got.
    /// </summary>
    public void Started(Guid sessionId)
    {
        if (S.Session?.SessionId != sessionId || _starting is not { } starting || starting.Session != sessionId) return;
        _starting = null;
        S.SessionStart = starting.Start;
        ApplyPositionlessAcks();
    }

    /// <summary>Forgets the session if it is still the current one.</summary>
    public void Disconnect(Guid sessionId)
    {
        if (S.Session?.SessionId != sessionId) return;
        S.Session = null;
        S.ConnectedAt = null;
        _dirty = true;
    }

    /// <summary>
    /// Ends the live session, wherever it is, and stores that the client left. <paramref name="joined"/>: a gateway
    /// holds a session of this client that this activation does not know (the one that accepted it was lost before
    /// storing it); the stored leave fences it off, and its gateway ends it at its next look at the head. False if
    /// there was no session.
    /// </summary>
    public async Task<bool> UnsubscribeAsync(bool joined)
    {
        var session = S.Session;
        if (session is null && !joined) return false;
        if (session is not null) _ = session.Gateway.EndSession(ClientId, session.SessionId, SessionEndReason.Unsubscribed);
        S.Session = null;
        S.ConnectedAt = null;
        NewFence(left: true);
        await WriteAsync("unsubscribe");
        return true;
    }

    public void Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions)
    {
        foreach (var channel in positions.Keys)
        {
            if (!IsSubscribed(channel)) throw new ArgumentException($"position for channel \"{ChannelNames.Shorten(channel)}\", which client {ClientId} is not subscribed to");
        }
        S.Notifications++;
        if (positions.Count == 0)
        {
            // The original contract's NotifyReceived says "one more message received", without an offset. Before the
            // session started it can only be a late one of the previous stream (see Started). Dropped, the client at
            // worst gets that message once more.
            if (S.SessionStart is null) return;
            S.AcksSinceStart++;
            ApplyPositionlessAcks();
        }
        foreach (var (channel, position) in positions)
        {
            // Keep the newest position; a new epoch replaces the old one whatever its offset.
            var acknowledged = S.Acknowledged ??= [];
            if (!acknowledged.TryGetValue(channel, out var known) || known.Epoch != position.Epoch || known.Offset < position.Offset)
            {
                acknowledged[channel] = position;
            }
        }
        ScheduleFlush();
    }

    public ClientSnapshot Snapshot() => new(ClientId, S.Session?.SessionId, S.Session?.GatewayId, [.. S.Topics],
        S.Acknowledged is null ? [] : new Dictionary<string, ChannelPosition>(S.Acknowledged), S.Notifications, S.Sessions, S.ConnectedAt);

    /// <summary>Stores what waits to be stored (at deactivation).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_dirty) await WriteAsync("deactivation", cancellationToken);
    }

    /// <summary>
    /// Calls of one client instance are ordered by the attempt numbers the client gave them: an abandoned attempt can
    /// reach a gateway after its successor (sent on a connection that was dying). Others by when they reached their gateway.
    /// </summary>
    private bool IsOlder(SessionInfo session, DateTimeOffset arrivedAt, SessionInfo live)
    {
        if (session.Attempt is { } attempt && live.Attempt is { } liveAttempt && attempt.Instance == liveAttempt.Instance)
        {
            return attempt.IsOlderThan(liveAttempt);
        }
        return S.SessionArrivedAt > arrivedAt;
    }

    /// <summary>
    /// A new fence, growing. It is stored with the next write, not by itself: a fence is seeded from the clock, so one
    /// issued by an activation that was lost before its next write is still below what a later activation issues, as
    /// long as silo clocks agree better than that write's delay (<see cref="ClientOptions.AckFlushInterval"/>).
    /// </summary>
    private void NewFence(bool left)
    {
        S.Fence = Math.Max(S.Fence + 1, Time.GetUtcNow().ToUnixTimeMilliseconds());
        S.FenceLeft = left;
        _dirty = true;
    }

    /// <summary>The own channel's position is the session's start plus the messages acknowledged without a position.</summary>
    private void ApplyPositionlessAcks()
    {
        if (S.SessionStart is not { } start || S.AcksSinceStart == 0) return;
        (S.Acknowledged ??= [])[OwnChannel] = start with { Offset = start.Offset + (ulong)S.AcksSinceStart };
        ScheduleFlush();
    }

    /// <summary>One storage write per interval for every change that arrived in it.</summary>
    private void ScheduleFlush()
    {
        _dirty = true;
        _flush ??= owner.RegisterGrainTimer(async () =>
        {
            // Changes made during the write schedule the next one. Disposed after it: disposing a grain timer cancels the
            // token of the callback that is running.
            var timer = _flush;
            _flush = null;
            await WriteAsync("batched changes");
            timer?.Dispose();
        }, new GrainTimerCreationOptions(Options.AckFlushInterval, Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    private async Task WriteAsync(string why, CancellationToken cancellationToken = default)
    {
        if (Shutdown.IsLost()) return;
        var writing = _writing ??= new SemaphoreSlim(1, 1); // no race: the grain's turns run one at a time
        await writing.WaitAsync(cancellationToken);
        try
        {
            _dirty = false; // changes made while the write runs set it again
            await State.WriteOrFailAsync($"client {ClientId}, {why}", cancellationToken);
        }
        catch
        {
            _dirty = true;
            throw;
        }
        finally
        {
            writing.Release();
        }
    }

    private bool IsSubscribed(string channel) => channel == OwnChannel || S.Topics.Contains(channel);
}
