using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;

namespace LongLived.Silo.Grains;

/// <summary>
/// One client id: which gateway holds its live session (the newest Subscribe wins, fenced), its topics and its
/// acknowledged positions (stored within <see cref="ClientOptions.AckFlushInterval"/>, and used to resume a client
/// that subscribes again without positions, as clients of the original contract do).
/// </summary>
public sealed class ClientGrain(
    [PersistentState("client", StorageNames.Clients)] IPersistentState<ClientState> state,
    IOptions<ClientOptions> options,
    StateAtShutdown shutdown,
    TimeProvider time,
    ILogger<ClientGrain> logger) : Grain, IClientGrain
{
    private ClientState S => state.State;
    private string Id => this.GetPrimaryKeyString();
    private IGrainTimer? _ackFlush; // set while acknowledgements wait to be stored

    public async Task<SessionGrant> Connect(SessionInfo session)
    {
        var previous = S.Session;
        // When the call reached its gateway, on this grain's clock: gateways measure only how long they held it.
        var arrivedAt = time.GetUtcNow() - session.Waited;
        if (previous is not null && previous.SessionId != session.SessionId && IsOlder(session, arrivedAt, previous))
        {
            // A Subscribe made or received before the live one (delayed, or abandoned by its client) must not end it.
            logger.LogInformation("Client {ClientId}: session {Stale} (at its gateway {StaleAt:O}, attempt {StaleAttempt}) refused: {Live} (at its gateway {LiveAt:O}, attempt {LiveAttempt}) is newer",
                Id, session.SessionId, arrivedAt, session.Attempt?.Number, previous.SessionId, S.SessionArrivedAt, previous.Attempt?.Number);
            return new SessionGrant(false, S.Fence, null);
        }
        var resumeFrom = S.Acknowledged.GetValueOrDefault(ChannelNames.ForClient(Id));
        S.Session = session;
        S.SessionArrivedAt = arrivedAt;
        S.ConnectedAt = time.GetUtcNow();
        S.Topics = [.. session.Topics];
        S.Sessions++;
        S.SessionStart = null;
        S.AcksSinceStart = 0;
        // Positions of channels the client no longer joins are dropped: the state stays bounded by its subscription.
        foreach (var channel in S.Acknowledged.Keys.Where(c => !IsSubscribed(c)).ToArray()) S.Acknowledged.Remove(channel);
        await NewFenceAsync("connect", left: false);
        if (previous is not null && previous.SessionId != session.SessionId)
        {
            logger.LogInformation("Client {ClientId}: session {New} on {NewGateway} replaces {Old} on {OldGateway}",
                Id, session.SessionId, session.GatewayId, previous.SessionId, previous.GatewayId);
            // One-way: a dead gateway must not delay the new session. Its stream is gone anyway.
            _ = previous.Gateway.EndSession(Id, previous.SessionId, SessionEndReason.Replaced);
        }
        return new SessionGrant(true, S.Fence, resumeFrom);
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

    public Task Started(Guid sessionId, ChannelPosition ownChannel)
    {
        if (S.Session?.SessionId != sessionId) return Task.CompletedTask;
        S.SessionStart = ownChannel;
        ApplyPositionlessAcks();
        ScheduleAckFlush();
        return Task.CompletedTask;
    }

    public async Task Disconnect(Guid sessionId)
    {
        if (S.Session?.SessionId != sessionId) return;
        S.Session = null;
        S.ConnectedAt = null;
        await state.WriteOrFailAsync($"client {Id}, disconnect");
    }

    public async Task<bool> Unsubscribe()
    {
        var session = S.Session;
        if (session is null) return false;
        _ = session.Gateway.EndSession(Id, session.SessionId, SessionEndReason.Unsubscribed);
        S.Session = null;
        S.ConnectedAt = null;
        await NewFenceAsync("unsubscribe", left: true);
        return true;
    }

    public Task Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions)
    {
        foreach (var channel in positions.Keys)
        {
            if (!IsSubscribed(channel)) throw new ArgumentException($"position for channel \"{ChannelNames.Shorten(channel)}\", which client {Id} is not subscribed to");
        }
        S.Notifications++;
        if (positions.Count == 0)
        {
            // The original contract's NotifyReceived says "one more message received", without an offset. Between a
            // Connect and its Started it can only be a late one of the previous stream (sent before that stream ended):
            // counted on top of the new start it would move the position past a message the client never got. Dropped,
            // the client at worst gets that message once more.
            if (S.SessionStart is null) return Task.CompletedTask;
            S.AcksSinceStart++;
            ApplyPositionlessAcks();
        }
        foreach (var (channel, position) in positions)
        {
            // Keep the newest position; a new epoch replaces the old one whatever its offset.
            if (!S.Acknowledged.TryGetValue(channel, out var known) || known.Epoch != position.Epoch || known.Offset < position.Offset)
            {
                S.Acknowledged[channel] = position;
            }
        }
        ScheduleAckFlush();
        return Task.CompletedTask;
    }

    public Task<ChannelOwner> GetOwner() => Task.FromResult(new ChannelOwner(S.Fence, S.FenceLeft));

    public Task<ClientSnapshot> GetSnapshot() => Task.FromResult(new ClientSnapshot(
        Id, S.Session?.SessionId, S.Session?.GatewayId, [.. S.Topics],
        new Dictionary<string, ChannelPosition>(S.Acknowledged), S.Notifications, S.Sessions, S.ConnectedAt));

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_ackFlush is not null && !shutdown.IsLost()) await state.WriteOrFailAsync($"client {Id}, acknowledgements", cancellationToken);
    }

    /// <summary>
    /// Stores a new fence (growing; seeded from the clock so it grows even after the state was lost) with the rest of the
    /// state, then tells the client's own channel. The fence reaches the gateways through that channel's head: a session
    /// that missed its EndSession (one-way, may be lost) sees a newer owner at its next head check and ends itself.
    /// </summary>
    private async Task NewFenceAsync(string why, bool left)
    {
        S.Fence = Math.Max(S.Fence + 1, time.GetUtcNow().ToUnixTimeMilliseconds());
        S.FenceLeft = left;
        await state.WriteOrFailAsync($"client {Id}, {why}");
        await GrainFactory.GetGrain<IChannelGrain>(ChannelNames.ForClient(Id)).Claim(S.Fence, left);
    }

    /// <summary>The own channel's position is the session's start plus the messages acknowledged without a position.</summary>
    private void ApplyPositionlessAcks()
    {
        if (S.SessionStart is not { } start || S.AcksSinceStart == 0) return;
        S.Acknowledged[ChannelNames.ForClient(Id)] = start with { Offset = start.Offset + (ulong)S.AcksSinceStart };
    }

    /// <summary>One storage write per interval for every acknowledgement that arrived in it.</summary>
    private void ScheduleAckFlush()
    {
        _ackFlush ??= this.RegisterGrainTimer(async () =>
        {
            // Not interleaved: no acknowledgement arrives during the write. Disposed after it: disposing a grain timer
            // cancels the token of the callback that is running.
            var timer = _ackFlush;
            _ackFlush = null;
            if (!shutdown.IsLost()) await state.WriteOrFailAsync($"client {Id}, acknowledgements");
            timer?.Dispose();
        }, new GrainTimerCreationOptions(options.Value.AckFlushInterval, Timeout.InfiniteTimeSpan) { Interleave = false });
    }

    private bool IsSubscribed(string channel) => channel == ChannelNames.ForClient(Id) || S.Topics.Contains(channel);
}
