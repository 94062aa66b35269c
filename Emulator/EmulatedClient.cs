using LongLived.Client;

namespace LongLived.Emulator;

/// <summary>
/// One client as the original drove it (subscribe, acknowledge each message), on the LongLived.Client library, which
/// resumes with positions. This type only measures: it checks every offset it is handed for gaps and duplicates, so a
/// gateway that lost or repeated a message shows in the report.
/// </summary>
public sealed class EmulatedClient(int index, string id, LongLivedClient client, EmulatorSettings settings, RunMetrics metrics, ILogger logger)
{
    private readonly Dictionary<string, ChannelPosition> _last = new(StringComparer.Ordinal);
    private DateTimeOffset? _failedAt; // set on a failure, cleared by the first message after it
    private DateTimeOffset _subscribedAt = DateTimeOffset.UtcNow;

    public int Index { get; } = index;
    public string Id { get; } = id;
    public ClientStats Stats { get; } = new(id);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Subscribing client ID: {ClientId}", Id);
        try
        {
            await foreach (var message in client.SubscribeAsync(Id, settings.Topics, cancellationToken))
            {
                if (_failedAt is { } failed)
                {
                    metrics.ResumeLatency.Record(DateTimeOffset.UtcNow - failed);
                    Interlocked.Increment(ref Stats.Resumes);
                    _failedAt = null;
                }
                Observe(message);
            }
            // Without a cancel, the enumeration ends only for Unsubscribe: like the original, this client is done.
            if (!cancellationToken.IsCancellationRequested) logger.LogInformation("stream is finished for client ID {ClientId}", Id);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // The run ended: not a refusal, whatever the call in flight reported.
        }
        catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Aborted)
        {
            logger.LogWarning("Client ID {ClientId} replaced by a newer subscription: {Detail}", Id, ex.Status.Detail);
            Stats.Replaced = true;
        }
        catch (Grpc.Core.RpcException ex)
        {
            // PERMISSION_DENIED, INVALID_ARGUMENT: retrying cannot help (the token does not allow this id or these topics).
            logger.LogError("Client ID {ClientId} refused: {Status} {Detail}", Id, ex.StatusCode, ex.Status.Detail);
            Stats.Refused = true;
        }
    }

    /// <summary>The library is about to subscribe again after a failure.</summary>
    public void OnReconnecting()
    {
        Interlocked.Increment(ref Stats.Reconnects);
        _failedAt ??= DateTimeOffset.UtcNow;
    }

    public void OnSubscribed()
    {
        _subscribedAt = DateTimeOffset.UtcNow;
        if (_failedAt is { } failed) metrics.ReattachLatency.Record(_subscribedAt - failed);
    }

    private void Observe(LongLivedMessage message)
    {
        if (settings.LogMessages) logger.LogInformation("Client ID {ClientId} got response: \"{Data}\"", Id, message.Data);
        if (message.Unrecoverable) Interlocked.Increment(ref Stats.Unrecoverable);
        if (_last.TryGetValue(message.Channel, out var last) && !message.Unrecoverable)
        {
            if (message.Epoch != last.Epoch)
            {
                // A new epoch without the gateway saying so: everything after our position is unaccounted for.
                Interlocked.Increment(ref Stats.Gaps);
            }
            else if (message.Offset <= last.Offset)
            {
                Interlocked.Increment(ref Stats.Duplicates);
                return;
            }
            else if (message.Offset > last.Offset + 1)
            {
                Interlocked.Add(ref Stats.Gaps, (long)(message.Offset - last.Offset - 1));
            }
        }
        _last[message.Channel] = message.Position;
        Interlocked.Increment(ref Stats.Received);
        var now = DateTimeOffset.UtcNow;
        Interlocked.Exchange(ref Stats.LastReceivedUnixMs, now.ToUnixTimeMilliseconds());
        // Replayed history measures the outage, not the relay: only live messages count for latency.
        if (message.PublishedAt >= _subscribedAt) metrics.Latency.Record(now - message.PublishedAt);
    }
}
