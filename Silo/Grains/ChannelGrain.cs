using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using Microsoft.Extensions.Options;
using Orleans.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// Numbers a channel's messages without holes, keeps the history (the truth gateways fill gaps from) and publishes
/// every message on the channel's Orleans stream (the fast path) after it is stored.
/// </summary>
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
            await state.WriteStateAsync(cancellationToken);
            logger.LogInformation("Channel {Channel} starts epoch {Epoch}", Name, S.Epoch);
        }
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
            if (earlier is not null) return earlier;
        }
        var message = await AppendAsync(data, string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey);
        metrics.Appended(generated: false);
        return message;
    }

    public Task<HistoryPage> Read(ulong afterOffset, string? epoch, int max)
    {
        RenewLease();
        Trim();
        var first = S.History.Count > 0 ? S.History[0].Offset : S.Head + 1;
        var recoverable = (string.IsNullOrEmpty(epoch) || epoch == S.Epoch) && afterOffset <= S.Head && afterOffset + 1 >= first;
        if (!recoverable || afterOffset == S.Head)
        {
            return Task.FromResult(new HistoryPage(S.Epoch, S.Head, recoverable, []));
        }
        // History offsets are consecutive, so the index of offset o is o - first.
        var start = (int)(afterOffset + 1 - first);
        var count = Math.Min(Math.Max(max, 1), S.History.Count - start);
        return Task.FromResult(new HistoryPage(S.Epoch, S.Head, true, S.History.GetRange(start, count)));
    }

    public Task<ChannelHead> Touch()
    {
        RenewLease();
        return Task.FromResult(new ChannelHead(S.Epoch, S.Head));
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
        // Stored before it is streamed: no subscriber can see an offset that storage does not have.
        await state.WriteStateAsync();
        try
        {
            await _stream!.OnNextAsync(idempotencyKey is null ? message : message with { IdempotencyKey = null });
        }
        catch (Exception ex)
        {
            // The stream is only the fast path: gateways find the hole by offset or head check and read it from history.
            logger.LogWarning(ex, "Channel {Channel}: streaming offset {Offset} failed; subscribers will fill it from history", Name, message.Offset);
        }
        return message;
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
