using Grpc.Core;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;

namespace LongLived.Emulator;

/// <summary>
/// One client as the original drove it (subscribe, NotifyReceived per message), plus what the original lacked:
/// it keeps its position per channel, resubscribes with it at once on any failure (then with jittered, capped
/// exponential backoff), and checks every offset for gaps and duplicates.
/// </summary>
public sealed class EmulatedClient(
    int index,
    string id,
    Longlived.LonglivedClient grpc,
    int addresses,
    EmulatorSettings settings,
    Tokens tokens,
    RunMetrics metrics,
    ILogger logger)
{
    private readonly Dictionary<string, Position> _positions = new(StringComparer.Ordinal);

    public int Index { get; } = index;
    public string Id { get; } = id;
    public ClientStats Stats { get; } = new(id);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        var retriesAtOnce = 0;
        DateTimeOffset? failedAt = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Subscribing client ID: {ClientId}", Id);
            var subscribedAt = DateTimeOffset.UtcNow;
            try
            {
                using var call = grpc.Subscribe(NewRequest(), new CallOptions(tokens.ForClient(Id), cancellationToken: cancellationToken).WithWaitForReady());
                await call.ResponseHeadersAsync; // the gateway sends headers once the resumed stream is in place
                if (failedAt is { } broken) metrics.ReattachLatency.Record(DateTimeOffset.UtcNow - broken);
                await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (failedAt is { } failed)
                    {
                        metrics.ResumeLatency.Record(DateTimeOffset.UtcNow - failed);
                        Interlocked.Increment(ref Stats.Resumes);
                        failedAt = null;
                    }
                    attempt = 0;
                    Observe(response, subscribedAt);
                    if (settings.Notify) await NotifyAsync(response, cancellationToken);
                }
                // The gateway ends a stream with OK only for Unsubscribe: like the original, this client is done.
                logger.LogInformation("stream is finished for client ID {ClientId}", Id);
                return;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Aborted)
            {
                logger.LogWarning("Client ID {ClientId} replaced by a newer subscription: {Detail}", Id, ex.Status.Detail);
                Stats.Replaced = true;
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
            {
                // Retrying cannot help: the token does not allow this id or these topics.
                logger.LogError("Client ID {ClientId} refused: {Detail}", Id, ex.Status.Detail);
                Stats.Refused = true;
                return;
            }
            catch (RpcException ex)
            {
                if (ex.StatusCode == StatusCode.Unauthenticated) tokens.Forget(Id); // expired: the next attempt carries a new one
                logger.LogWarning("Client ID {ClientId}: stream failed ({Status}: {Detail}); resubscribing", Id, ex.StatusCode, ex.Status.Detail);
                Interlocked.Increment(ref Stats.Reconnects);
                failedAt ??= DateTimeOffset.UtcNow;
                // A call that never reached a gateway (its address refused the connection) is tried again at once, up
                // to once per address: Grpc.Net.Client's round robin can keep a killed gateway's subchannel in rotation
                // for a while (tests/docker/e2e.sh: 103 "Connection refused" picks of the killed gateway, resume p99
                // 22 s), and a backoff after each such pick stacks the delays.
                if (NeverReachedAGateway(ex) && retriesAtOnce++ < addresses) continue;
            }
            retriesAtOnce = 0;
            var delay = Backoff(attempt++);
            if (delay > TimeSpan.Zero)
            {
                try { await Task.Delay(delay, cancellationToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private Request NewRequest()
    {
        var request = new Request { Id = Id };
        request.Topics.AddRange(settings.Topics);
        foreach (var (channel, position) in _positions) request.Positions[channel] = position.Clone();
        return request;
    }

    private void Observe(Response response, DateTimeOffset subscribedAt)
    {
        if (settings.LogMessages) logger.LogInformation("Client ID {ClientId} got response: \"{Data}\"", Id, response.Data);
        if (response.Unrecoverable) Interlocked.Increment(ref Stats.Unrecoverable);
        if (_positions.TryGetValue(response.Channel, out var last) && !response.Unrecoverable)
        {
            if (response.Epoch != last.Epoch)
            {
                // A new numbering without the gateway saying so: everything after our position is unaccounted for.
                Interlocked.Increment(ref Stats.Gaps);
            }
            else if (response.Offset <= last.Offset)
            {
                Interlocked.Increment(ref Stats.Duplicates);
                return;
            }
            else if (response.Offset > last.Offset + 1)
            {
                Interlocked.Add(ref Stats.Gaps, (long)(response.Offset - last.Offset - 1));
            }
        }
        _positions[response.Channel] = new Position { Offset = response.Offset, Epoch = response.Epoch };
        Interlocked.Increment(ref Stats.Received);
        var now = DateTimeOffset.UtcNow;
        Interlocked.Exchange(ref Stats.LastReceivedUnixMs, now.ToUnixTimeMilliseconds());
        var published = DateTimeOffset.FromUnixTimeMilliseconds(response.PublishTimeUnixMs);
        // Replayed history measures the outage, not the relay: only live messages count for latency.
        if (published >= subscribedAt) metrics.Latency.Record(now - published);
    }

    private async Task NotifyAsync(Response response, CancellationToken cancellationToken)
    {
        var request = new Request { Id = Id };
        request.Positions[response.Channel] = new Position { Offset = response.Offset, Epoch = response.Epoch };
        // The channel retries UNAVAILABLE with backoff (GatewayChannel); a call that still never reached a gateway is
        // tried again at once, up to once per address, as a stream is.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await grpc.NotifyReceivedAsync(request, tokens.ForClient(Id), DateTime.UtcNow.AddSeconds(10), cancellationToken);
                return;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (NeverReachedAGateway(ex) && attempt < addresses) continue;
                Interlocked.Increment(ref Stats.NotifyFailures);
                var detail = ex.Status.Detail;
                metrics.NotifyFailureKinds.AddOrUpdate($"{ex.StatusCode}: {detail[..Math.Min(detail.Length, 60)]}", 1, (_, n) => n + 1);
                logger.LogDebug("NotifyReceived for {ClientId} failed: {Status}", Id, ex.StatusCode);
                return;
            }
        }
    }

    /// <summary>Failed before any byte reached a gateway: the connection to the picked address could not be made.</summary>
    private static bool NeverReachedAGateway(RpcException ex) =>
        ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is HttpRequestException
        && ex.Status.Detail.StartsWith("Error starting gRPC call", StringComparison.Ordinal);

    /// <summary>First retry at once; then base·2^n up to the cap, jittered to 50–100 % so clients of a dead gateway spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        if (attempt == 0) return TimeSpan.Zero;
        var ceiling = Math.Min(settings.BackoffCap.TotalMilliseconds, settings.BackoffBase.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + Random.Shared.NextDouble() / 2));
    }
}
