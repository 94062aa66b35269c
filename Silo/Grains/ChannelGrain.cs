using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// Numbers a channel's messages without holes, keeps the history (the truth gateways fill gaps from) and publishes
/// every message on the channel's Orleans stream (the fast path) after it is stored.
/// Group commit: the grain is reentrant so that appends arriving while a storage write is in flight are numbered at
/// once and stored together by the next write; nothing is visible (Read, Touch, the stream, the caller's reply) before
/// it is stored. Every method but the flush is synchronous, so each runs atomically between awaits.
/// </summary>
[Reentrant]
public sealed class ChannelGrain(
    [PersistentState("channel", StreamNames.ChannelStorage)] IPersistentState<ChannelState> state,
    IOptions<GeneratorOptions> generatorOptions,
    IOptions<HistoryOptions> historyOptions,
    SiloMetrics metrics,
    TimeProvider time,
    ILogger<ChannelGrain> logger) : Grain, IChannelGrain
{
    private readonly GeneratorOptions _generator = generatorOptions.Value;
    private readonly HistoryOptions _history = historyOptions.Value;
    private IAsyncStream<ChannelMessage>? _stream;
    private IGrainTimer? _generatorTimer;
    private DateTimeOffset _leaseRenewedAt;
    private readonly List<ChannelMessage> _staged = []; // numbered and in History, not stored yet
    private Task? _flushing;
    private ulong _storedHead; // newest offset in storage: the newest anyone may see
    private long _owner; // client channels: the fence of the client's newest session

    private string Name => this.GetPrimaryKeyString();
    private ChannelState S => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        metrics.ChannelActivated();
        _stream = this.GetStreamProvider(StreamNames.Provider)
            .GetStream<ChannelMessage>(StreamId.Create(StreamNames.ChannelNamespace, Name));
        if (string.IsNullOrEmpty(S.Epoch))
        {
            // No stored numbering (new channel, or state lost with in-memory storage): start a new epoch so
            // clients holding positions of an older numbering are told they cannot resume, not silently misled.
            S.Epoch = Guid.NewGuid().ToString("N")[..12];
            S.Head = 0;
            S.History.Clear();
            await state.WriteOrFailAsync($"channel {Name}, new epoch", cancellationToken);
            logger.LogInformation("Channel {Channel} starts epoch {Epoch}", Name, S.Epoch);
        }
        _storedHead = S.Head;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.ChannelDeactivated();
        if (_generatorTimer is not null) metrics.GeneratorStopped();
        return Task.CompletedTask;
    }

    public async Task<ChannelMessage> Publish(string data, string? idempotencyKey)
    {
        if (!string.IsNullOrEmpty(idempotencyKey))
        {
            // The dedup window is the history: a retry after the original left the history appends again.
            var earlier = S.History.FindLast(m => m.IdempotencyKey == idempotencyKey);
            if (earlier is not null)
            {
                await StoredAsync(earlier.Offset); // the original may still be waiting for its write
                return earlier;
            }
        }
        var message = await AppendAsync(data, string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey);
        metrics.Appended(generated: false);
        return message;
    }

    public Task<HistoryPage> Read(ulong afterOffset, string? epoch, int max)
    {
        RenewLease();
        Trim();
        var head = _storedHead; // staged messages past it are not visible yet
        var first = S.History.Count > 0 ? S.History[0].Offset : head + 1;
        var recoverable = (string.IsNullOrEmpty(epoch) || epoch == S.Epoch) && afterOffset <= head && afterOffset + 1 >= first;
        if (!recoverable || afterOffset == head)
        {
            return Task.FromResult(new HistoryPage(S.Epoch, head, recoverable, [], first));
        }
        // History offsets are consecutive, so the index of offset o is o - first.
        var start = (int)(afterOffset + 1 - first);
        var count = (int)Math.Min((ulong)Math.Max(max, 1), head - afterOffset);
        return Task.FromResult(new HistoryPage(S.Epoch, head, true, S.History.GetRange(start, count), first));
    }

    public Task<ChannelHead> Touch()
    {
        RenewLease();
        return Task.FromResult(new ChannelHead(S.Epoch, _storedHead, _owner));
    }

    public Task Claim(long fence)
    {
        // Not stored: after a lost activation the next Connect claims again; until then no session is fenced off.
        _owner = Math.Max(_owner, fence);
        return Task.CompletedTask;
    }

    private async Task<ChannelMessage> AppendAsync(string data, string? idempotencyKey)
    {
        Trim();
        var message = new ChannelMessage(Name, S.Head + 1, S.Epoch, data, time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            IdempotencyKey = idempotencyKey,
        };
        S.History.Add(message);
        S.Head = message.Offset;
        _staged.Add(message);
        await StoredAsync(message.Offset);
        return message;
    }

    /// <summary>Returns once <paramref name="offset"/> is stored and streamed, writing everything staged by then.</summary>
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

    /// <summary>One storage write for every message staged so far, then the stream, in offset order.</summary>
    private async Task FlushAsync()
    {
        var batch = _staged.ToArray();
        _staged.Clear();
        try
        {
            await state.WriteOrFailAsync($"channel {Name}, offsets {batch[0].Offset}..{batch[^1].Offset}");
        }
        catch (StorageUnavailableException ex)
        {
            // Roll back everything not stored (this batch and whatever was staged meanwhile): no later write may store
            // a message whose publisher was told it failed. The write itself may still have landed, so the activation
            // goes once idle and the next one starts from what storage really has. Every waiter gets this exception:
            // UNAVAILABLE, outcome unknown, retry with the same idempotency key.
            logger.LogError("Channel {Channel}: {Error}; rolled back to offset {Stored}, deactivating when idle", Name, ex.Message, _storedHead);
            S.History.RemoveAll(m => m.Offset > _storedHead);
            S.Head = _storedHead;
            _staged.Clear();
            DeactivateOnIdle();
            throw new StorageUnavailableException(
                $"channel {Name}: the message was not stored (storage unavailable); the outcome is unknown: retry with the same idempotency key");
        }
        _storedHead = batch[^1].Offset;
        foreach (var message in batch)
        {
            try
            {
                await _stream!.OnNextAsync(message.IdempotencyKey is null ? message : message with { IdempotencyKey = null });
            }
            catch (Exception ex)
            {
                // The stream is only the fast path: gateways find the hole by offset or head check and read it from history.
                logger.LogWarning(ex, "Channel {Channel}: streaming offset {Offset} failed; subscribers will fill it from history", Name, message.Offset);
            }
        }
    }

    private void Trim()
    {
        var h = S.History;
        var excess = h.Count - Math.Max(_history.MaxCount, 1);
        var oldest = time.GetUtcNow().Add(-_history.MaxAge).ToUnixTimeMilliseconds();
        var drop = Math.Max(excess, 0);
        while (drop < h.Count && h[drop].PublishedUnixMs < oldest) drop++;
        if (drop > 0) h.RemoveRange(0, drop);
    }

    /// <summary>Client channels generate mock data while someone keeps the lease (Read/Touch) alive.</summary>
    private void RenewLease()
    {
        _leaseRenewedAt = time.GetUtcNow();
        if (_generatorTimer is not null || !ChannelNames.TryGetClientId(Name, out var clientId)) return;
        var data = $"data mock for: {clientId}";
        _generatorTimer = this.RegisterGrainTimer(
            async ct =>
            {
                if (time.GetUtcNow() - _leaseRenewedAt > _generator.IdleTimeout)
                {
                    logger.LogInformation("Channel {Channel}: no subscriber for {Idle}, generator stopped at offset {Offset}", Name, _generator.IdleTimeout, S.Head);
                    _generatorTimer?.Dispose();
                    _generatorTimer = null;
                    metrics.GeneratorStopped();
                    return;
                }
                await AppendAsync(data, null);
                metrics.Appended(generated: true);
            },
            new GrainTimerCreationOptions(_generator.Interval, _generator.Interval) { KeepAlive = true, Interleave = false });
        metrics.GeneratorStarted();
        logger.LogInformation("Channel {Channel}: generator started every {Interval}", Name, _generator.Interval);
    }
}
