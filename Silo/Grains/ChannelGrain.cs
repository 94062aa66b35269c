using LongLived.Contracts.Grains;
using LongLived.Silo.History;
using LongLived.Silo.Operations;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Configuration;

namespace LongLived.Silo.Grains;

/// <summary>
/// Numbers a channel's messages without holes, keeps the retained tail in memory (<see cref="HistoryRing"/>, every read
/// is served from it), makes appends durable through the channel's <see cref="IChannelLog"/> (a Redis stream, or grain
/// state at deactivation in embedded mode) and then hands each batch to the joined gateways (<see cref="ChannelJoins"/>).
/// An append costs O(1) whatever the history holds. A join lasts while its gateway is in the gateway directory, and
/// keeps this activation from collection (<see cref="ChannelJoins"/>). A client's own channel is also the client's grain (<see cref="IClientGrain"/>, one activation per client): its
/// <see cref="ClientSession"/> issues the session fence (the owner in the head), and its <see cref="DemoGenerator"/>
/// makes the mock data.
/// Group commit: the grain is reentrant so that appends arriving while a log write is in flight are numbered at
/// once and stored together by the next write; nothing is visible (Read, Touch, the stream, the caller's reply) before
/// it is stored. Every method but the flush is synchronous, so each runs atomically between awaits.
/// </summary>
[Reentrant]
[CollectionAgeLimit(Minutes = 20)] // a channel no gateway joined (a joined one is kept: ChannelJoins)
public sealed class ChannelGrain(
    [PersistentState("channel", StorageNames.Channels)] IPersistentState<ChannelState> state,
    ChannelLogs logs,
    IOptions<GeneratorOptions> generatorOptions,
    IOptions<HistoryOptions> historyOptions,
    SiloMetrics metrics,
    StateAtShutdown shutdown,
    GatewayNotices notices,
    DeliveryQueues deliveryQueues,
    SharedGateways gateways,
    LiveGateways liveGateways,
    TimeProvider time,
    [PersistentState("client", StorageNames.Clients)] IPersistentState<ClientState> clientState,
    IOptions<ClientOptions> clientOptions,
    ILogger<ChannelGrain> logger) : Grain, IChannelGrain, IClientGrain
{
    private readonly HistoryOptions _history = historyOptions.Value;
    private readonly HistoryRing _ring = new();
    private IChannelLog _log = null!;
    private ChannelJoins _joins = null!;
    private DemoGenerator? _generator;
    private readonly List<ChannelMessage> _staged = []; // numbered and in the ring, not stored yet
    private Task? _flushing;
    private string _epoch = "";
    private ulong _head; // newest offset handed out
    private ulong _storedHead; // newest offset in the log: the newest anyone may see
    private ulong _openedHead; // the stored head this activation started from (in _epoch)
    private ClientSession? _client; // a client's own channel: the client's session state

    // Orleans decodes the key from its UTF-8 bytes on every GetPrimaryKeyString: once per activation, so that every
    // message in the history shares one channel-name string.
    private string Name => _name ??= this.GetPrimaryKeyString();
    private string? _name;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        metrics.ChannelActivated();
        _log = logs.For(Name, state);
        _joins = new ChannelJoins(this);
        if (await _log.OpenAsync(cancellationToken) is { } stored)
        {
            _epoch = stored.Epoch;
            _head = stored.Head;
            foreach (var message in stored.Tail) _ring.Add(message);
        }
        else
        {
            // No stored numbering (new channel, or state lost with in-memory storage): start a new epoch so
            // clients holding positions of an older epoch are told they cannot resume, not silently misled.
            _epoch = NewEpoch();
            _head = 0;
            await _log.StartEpochAsync(_epoch, cancellationToken);
            logger.LogInformation("Channel {Channel} starts epoch {Epoch}", Name, _epoch);
        }
        _storedHead = _openedHead = _head;
        if (ChannelNames.TryGetClientId(Name, out var clientId))
        {
            _client = new ClientSession(this);
            // Only when it generates: one per client otherwise, for nothing (memory per idle client).
            if (generatorOptions.Value.Interval > TimeSpan.Zero)
            {
                _generator = new DemoGenerator(this, clientId, generatorOptions.Value, ServiceProvider.GetRequiredService<GeneratorClock>(), metrics, time, logger);
            }
        }
        // This activation knows no joins: gateways with local subscribers of an earlier one join again at once (one-way,
        // not awaited). Also when nothing was stored: storage may have lost it while gateways stayed joined.
        _ = notices.TellRestartedAsync(Name);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.ChannelDeactivated();
        _joins.Clear();
        if (_generator is not null) await _generator.Stop(); // a tick under way is no request: Orleans would not wait for it
        if (shutdown.IsLost()) return;
        _ring.TruncateAfter(_storedHead);
        try
        {
            await _log.CloseAsync(_epoch, _storedHead, _ring, cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogWarning("Channel {Channel}: saving its history at deactivation failed ({Error}); the next activation starts a new epoch", Name, ex.Message);
        }
        try
        {
            if (_client is not null) await _client.FlushAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogWarning("Channel {Channel}: saving its client's state at deactivation failed ({Error})", Name, ex.Message);
        }
    }

    public async Task<ChannelMessage> Publish(string data, string? idempotencyKey)
    {
        if (!string.IsNullOrEmpty(idempotencyKey) && _ring.WithKey(idempotencyKey) is { } earlier)
        {
            // The dedup window is the history: a retry after the original left the history appends again.
            await StoredAsync(earlier.Offset); // the original may still be waiting for its write
            return earlier;
        }
        var message = await AppendAsync(data, string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey);
        metrics.Appended(generated: false);
        return message;
    }

    public Task<HistoryPage> Read(ulong afterOffset, string? epoch, int max) => Task.FromResult(ReadPage(afterOffset, epoch, max));

    private HistoryPage ReadPage(ulong afterOffset, string? epoch, int max)
    {
        RenewLease();
        Trim();
        var head = _storedHead; // staged messages past it are not visible yet
        var first = _ring.Count > 0 ? _ring.First : head + 1;
        var recoverable = HistoryPage.CanServe(afterOffset, epoch, _epoch, head, first);
        if (!recoverable || afterOffset == head) return new HistoryPage(_epoch, head, recoverable, [], first);
        return new HistoryPage(_epoch, head, true, _ring.After(afterOffset, head, Math.Max(max, 1)), first);
    }

    public async Task<SubscribeGrant> Subscribe(SessionInfo session, GatewayRoute gateway, TimeSpan lease, long join, ChannelPosition? position, int pageSize)
    {
        var joined = _joins.AnyLive();
        var unknown = joined && !Client.HasSession; // a gateway joined for a session this activation may not know
        var (accepted, acknowledged) = Client.Connect(gateways.Session(session), joined);
        if (!accepted) return new SubscribeGrant(false, Client.Fence, Head(), null, null); // no lease renewed: nobody joins
        // Such a session gets no EndSession (its id is unknown): the gateways are told to look at the head, where the new
        // fence ends it (the activation that accepted it was lost before storing it).
        if (unknown) _ = notices.TellRestartedAsync(Name);
        // Nothing below awaits anything but completed tasks (no seen position: no renumbering), so the session is
        // fenced, joined and read in one turn: no message can fall between its join and its read.
        var head = await Join(gateway, lease, join, Client.Fence, seen: null);
        var from = position ?? acknowledged;
        var page = from is null ? null : ReadPage(from.Offset, from.Epoch, pageSize);
        // Where the gateway's cursor starts (ResumeRules.StartAtHead / StartAt).
        Client.Starting(session.SessionId, page is null ? new ChannelPosition(head.Head, head.Epoch)
            : page.Recoverable ? new ChannelPosition(from!.Offset, page.Epoch)
            : new ChannelPosition(page.Head, page.Epoch));
        return new SubscribeGrant(true, Client.Fence, head, from, page);
    }

    public Task Started(Guid sessionId)
    {
        Client.Started(sessionId);
        return Task.CompletedTask;
    }

    public Task Disconnect(Guid sessionId)
    {
        Client.Disconnect(sessionId);
        return Task.CompletedTask;
    }

    public async Task<bool> Unsubscribe()
    {
        var joined = _joins.AnyLive();
        if (!await Client.UnsubscribeAsync(joined)) return false;
        // Besides the one-way EndSession to the session it knows: a joined gateway may hold one it does not (its activation
        // was lost before storing it), or the EndSession may be lost, and a busy own channel is not head-checked. The
        // gateways are told to look at the head, where the stored leave ends the session with OK.
        if (joined) _ = notices.TellRestartedAsync(Name);
        return true;
    }

    public Task Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions)
    {
        Client.Acknowledge(positions);
        return Task.CompletedTask;
    }

    Task<ClientSnapshot> IClientGrain.GetSnapshot() => Task.FromResult(Client.Snapshot());

    private ClientSession Client => _client ?? throw new InvalidOperationException($"channel {ChannelNames.Shorten(Name)} is a topic, not a client's own channel");

    /// <summary>On a client's own channel, the fence of the client's newest session (0: none known), and whether it was an Unsubscribe.</summary>
    private long Owner => _client?.Fence ?? 0;
    private bool OwnerLeft => _client?.Left ?? false;

    public async Task<ChannelHead> Join(GatewayRoute gateway, TimeSpan lease, long join, long fence, ChannelPosition? seen)
    {
        _log.KeepNumbering();
        gateway = gateways.Route(gateway);
        if (SawLostOffsets(gateway.GatewayId, seen)) await RenumberAfterLossAsync(seen!, gateway.GatewayId);
        _joins.DropExpired();
        // A join the gateway has since replaced or left: its head check was in flight when its entry closed.
        if (_joins.IsStale(gateway.GatewayId, join)) return await Touch();
        var own = _client is not null;
        // A join for a session older than the newest one (a head check of the gateway the client just left) must not
        // take the channel from the gateway the client moved to; that session learns it is replaced from the head.
        if (own && fence > 0 && fence < Owner) return await Touch();
        // A client's own channel has one live session, so one gateway: the newest joiner. The others held a session
        // that moved here (their gateway may be dead): stop sending to them at once instead of at lease end.
        _joins.Add(gateway, lease, join, only: own);
        return await Touch();
    }

    public Task Leave(string gatewayId, long join)
    {
        _joins.Leave(gatewayId, join);
        return Task.CompletedTask;
    }

    public Task GatewayGone(string gatewayId, DateTimeOffset notRenewedSince)
    {
        _joins.GatewayGone(gatewayId, notRenewedSince);
        return Task.CompletedTask;
    }

    // For DemoGenerator: an append of generated data, and whether a gateway is joined.
    internal Task AppendGeneratedAsync(string data) => AppendAsync(data, null);
    internal bool IsJoined => _joins.Any;

    // For ChannelJoins and ClientSession, which reach them through the grain (memory per client).
    internal string ChannelName => Name;
    internal DeliveryQueues DeliveryQueues => deliveryQueues;
    internal LiveGateways LiveGateways => liveGateways;
    internal GatewayNotices Notices => notices;
    internal TimeProvider Time => time;
    internal ILogger Logger => logger;
    internal IPersistentState<ClientState> ClientState => clientState;
    internal ClientOptions ClientOptions => clientOptions.Value;
    internal StateAtShutdown Shutdown => shutdown;

    /// <summary>While a gateway is joined, collection must not end this activation: an idle channel gets no calls.</summary>
    internal void KeepActive(bool joined) => DelayDeactivation(joined ? Timeout.InfiniteTimeSpan : TimeSpan.Zero);

    public Task<ChannelHead> Touch()
    {
        RenewLease();
        return Task.FromResult(Head());
    }

    /// <summary>What a reader may see: the stored head, and on a client's own channel its owner.</summary>
    private ChannelHead Head() => new(_epoch, _storedHead, Owner, OwnerLeft);

    public Task<ChannelSnapshot> GetSnapshot()
    {
        _joins.DropExpired();
        return Task.FromResult(new ChannelSnapshot(Name, _epoch, _storedHead, Owner, [.. _joins.GatewayIds]));
    }

    /// <summary>
    /// A gateway saw offsets of this epoch past what the log holds: storage lost them (a restart from an older state,
    /// failover to a replica behind) before this activation opened it. Numbering on would hand those offsets out again
    /// and subscribers would drop the new messages as duplicates. So a new epoch starts (subscribers are told what was
    /// lost), carrying over the messages this activation stored since it opened the log, which nobody may lose.
    /// </summary>
    private async Task RenumberAfterLossAsync(ChannelPosition seen, string gatewayId)
    {
        // Everything staged is stored (or rolled back) first: appends keep arriving while this waits (the grain is
        // reentrant), so wait until no write runs and nothing waits for one.
        while (_staged.Count > 0 || _flushing is { IsCompleted: false })
        {
            try { await StoredAsync(_head); } catch { /* its callers got the error; the rollback cleared what was staged */ }
        }
        if (seen.Epoch != _epoch) return; // another join did it meanwhile
        metrics.StorageFailed();
        var carried = _ring.After(_openedHead, _storedHead, int.MaxValue);
        var opened = _openedHead;
        var old = RestartNumbering();
        foreach (var message in carried)
        {
            var copy = new ChannelMessage(Name, ++_head, _epoch, message.Data, message.PublishedUnixMs) { IdempotencyKey = message.IdempotencyKey };
            _ring.Add(copy);
            _staged.Add(copy);
        }
        logger.LogError("Channel {Channel}: gateway {Gateway} saw offset {Seen}@{Old}, but storage held only up to {Opened} when this activation opened it: " +
            "storage lost messages. Starting epoch {Epoch} with the {Carried} messages stored since; subscribers are told what was lost",
            Name, gatewayId, seen.Offset, old, opened, _epoch, carried.Count);
        // Appends arriving while the new epoch is written wait for it (StoredAsync awaits _flushing) and number after the carried ones.
        var start = _log.StartEpochAsync(_epoch, CancellationToken.None);
        _flushing = start;
        await start;
        if (_head > 0) await StoredAsync(_head);
    }

    /// <summary>
    /// Whether <paramref name="seen"/> proves that storage lost offsets: a gateway saw more of this epoch than storage
    /// held when this activation opened it (a gateway that has not joined this activation saw only what earlier ones
    /// stored, even once this one's appends passed that offset again), or more than is stored now.
    /// </summary>
    private bool SawLostOffsets(string gatewayId, ChannelPosition? seen)
    {
        var before = !_joins.FirstJoinHere(gatewayId);
        return seen is not null && seen.Epoch == _epoch && seen.Offset > (before ? _storedHead : _openedHead);
    }

    private async Task<ChannelMessage> AppendAsync(string data, string? idempotencyKey)
    {
        Trim();
        var message = new ChannelMessage(Name, _head + 1, _epoch, data, time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            IdempotencyKey = idempotencyKey,
        };
        _ring.Add(message);
        _head = message.Offset;
        _staged.Add(message);
        await StoredAsync(message.Offset);
        return message;
    }

    /// <summary>Returns once <paramref name="offset"/> is stored and its delivery queued, writing everything staged by then.</summary>
    private async Task StoredAsync(ulong offset)
    {
        while (_storedHead < offset)
        {
            // A flush already under way may have taken its batch before this offset was staged: then start the next.
            if (_flushing is null || _flushing.IsCompleted)
            {
                if (_staged.Count == 0) throw new InvalidOperationException($"channel {Name}: offset {offset} is neither stored nor staged");
                _flushing = FlushAsync();
            }
            await _flushing;
        }
    }

    /// <summary>
    /// One log write for every message staged so far, then one delivery per joined gateway, in offset order. The delivery
    /// is queued, not awaited (<see cref="ChannelJoins.Deliver"/>): with embedded storage a generated message then goes
    /// from the tick to the stream queue without one suspended await, where awaiting it suspended six frames per message,
    /// each a task and a continuation on the grain's scheduler (a third of the silo's allocations).
    /// </summary>
    private async Task FlushAsync()
    {
        var batch = _staged.ToArray();
        _staged.Clear();
        try
        {
            await _log.AppendAsync(_epoch, batch, _ring.Count > 0 ? _ring.First : _head + 1);
        }
        catch (NumberingConflictException ex)
        {
            // The stored head went back (Redis restarted from an older state, a replica took over): offsets past it may
            // already have reached clients. Handing them out again would make those clients drop the new messages as
            // duplicates; a new epoch tells them what was lost instead.
            metrics.StorageFailed();
            var old = RestartNumbering();
            _staged.Clear();
            logger.LogError("Channel {Channel}: {Error}; starting epoch {Epoch} (was {Old}): subscribers are told what was lost", Name, ex.Message, _epoch, old);
            await _log.StartEpochAsync(_epoch, CancellationToken.None);
            // Appends that arrived during that write were numbered in the new epoch and wait on this flush: they fail
            // with it, so they must not be stored by the next one.
            _ring.TruncateAfter(_storedHead);
            _head = _storedHead;
            _staged.Clear();
            throw new StorageUnavailableException($"channel {Name}: its stored numbering went back, so it continues in a new epoch; the message was not stored: retry with the same idempotency key");
        }
        catch (StorageUnavailableException ex)
        {
            // Roll back everything not stored (this batch and whatever was staged meanwhile): no later write may store
            // a message whose publisher was told it failed. The write itself may still have landed, so the activation
            // goes once idle and the next one starts from what storage really has. Every waiter gets this exception:
            // UNAVAILABLE, outcome unknown, retry with the same idempotency key.
            metrics.StorageFailed();
            logger.LogError("Channel {Channel}: {Error}; rolled back to offset {Stored}, deactivating when idle", Name, ex.Message, _storedHead);
            _ring.TruncateAfter(_storedHead);
            _head = _storedHead;
            _staged.Clear();
            DeactivateOnIdle();
            throw new StorageUnavailableException(
                $"channel {Name}: the message was not stored (storage unavailable); the outcome is unknown: retry with the same idempotency key");
        }
        _storedHead = batch[^1].Offset;
        _joins.Deliver(WithoutKeys(batch));
    }

    /// <summary>The batch as subscribers get it: idempotency keys stay in the history. Copied only if a message has one.</summary>
    private static ChannelMessage[] WithoutKeys(ChannelMessage[] batch)
    {
        if (Array.TrueForAll(batch, m => m.IdempotencyKey is null)) return batch;
        return Array.ConvertAll(batch, m => m.IdempotencyKey is null ? m : m with { IdempotencyKey = null });
    }

    private static string NewEpoch() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>A new epoch from offset 0 in this activation (the caller stores it); returns the old epoch.</summary>
    private string RestartNumbering()
    {
        var old = _epoch;
        _epoch = NewEpoch();
        _head = _storedHead = _openedHead = 0;
        _ring.TruncateAfter(0);
        return old;
    }

    private void Trim() =>
        _ring.Trim(Math.Max(_history.MaxCount, 1), time.GetUtcNow().Add(-_history.MaxAge).ToUnixTimeMilliseconds());

    /// <summary>A read or a join keeps an own channel's generator going.</summary>
    private void RenewLease() => _generator?.RenewLease();
}
