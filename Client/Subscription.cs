using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Grpc.Core;
using LongLived.Client.Retry;
using LongLived.Client.Tokens;
using LongLived.Contracts;
using Microsoft.Extensions.Logging;

namespace LongLived.Client;

/// <summary>
/// One enumeration of <see cref="LongLivedClient.SubscribeAsync"/>: Subscribe calls made one after another, each
/// resuming from the positions handed over so far, until unsubscribed, stopped or refused. The resume protocol's client
/// side (docs/resume.md): send the last position per channel; a message flagged unrecoverable, or one in another epoch,
/// starts the channel again from there.
/// </summary>
internal sealed class Subscription(LongLivedClient client, string clientId, IReadOnlyList<string> topics)
{
    private readonly LongLivedClientOptions _options = client.Options;
    private readonly Dictionary<string, ChannelPosition> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChannelPosition> _unacknowledged = new(StringComparer.Ordinal); // guarded by itself
    private readonly CancellationTokenSource _unsubscribed = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly FailureRow _failures = new(clientId, client.Addresses.Count);
    private AsyncServerStreamingCall<Response>? _call;
    private CancellationTokenSource? _attempt;
    private bool _subscribedBefore;
    private bool _positionsDirty;
    private long _savedAt = Stopwatch.GetTimestamp();

    public string ClientId => clientId;

    /// <summary>Completes when the enumeration has ended and saved its positions.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Ends the subscription where it stands: a call being made or a retry being waited for stops.</summary>
    public void Unsubscribe() => _unsubscribed.Cancel();

    public async IAsyncEnumerable<LongLivedMessage> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, client.Disposing);
        var token = stop.Token;
        client.Register(this);
        ClientTelemetry.Subscriptions.Add(1);
        var end = new End(CloseReason.Stopped, null);
        Task? acknowledging = null;
        try
        {
            foreach (var (channel, position) in await _options.PositionStore.LoadAsync(clientId, token)) _positions[channel] = position;
            if (_options.AutoAcknowledge && _options.AcknowledgeInterval > TimeSpan.Zero) acknowledging = AcknowledgeEveryIntervalAsync(token);
            while (true)
            {
                var step = await NextAsync(token);
                if (step.Message is not { } message)
                {
                    end = step.End!;
                    break;
                }
                Take(message);
                yield return message;
                await AfterTakenAsync(message, token);
            }
            if (end.Error is { } error) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            DropCall();
            stop.Cancel();
            await FinishAsync(end, acknowledging);
        }
    }

    /// <summary>The next message, making calls and waiting out retries as needed; or how the subscription ends.</summary>
    private async Task<Step> NextAsync(CancellationToken token)
    {
        while (true)
        {
            Status failure;
            bool reached = true;
            try
            {
                if (_unsubscribed.IsCancellationRequested) return new Step(null, new End(CloseReason.Unsubscribed, null));
                if (_call is null)
                {
                    _attempt = CancellationTokenSource.CreateLinkedTokenSource(token, _unsubscribed.Token);
                    Connect(await client.Tokens.HeadersAsync(clientId, _attempt.Token));
                    OnHeaders(await _call!.ResponseHeadersAsync);
                }
                if (_options.MaxSilence is { } silence) _attempt!.CancelAfter(silence);
                if (!await _call!.ResponseStream.MoveNext(_attempt!.Token))
                {
                    // The gateway ends a call with OK only for Unsubscribe.
                    DropCall();
                    return new Step(null, new End(CloseReason.Unsubscribed, null));
                }
                _failures.Clear();
                return new Step(ToMessage(_call.ResponseStream.Current), null);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return new Step(null, new End(CloseReason.Stopped, null));
            }
            catch (Exception) when (_unsubscribed.IsCancellationRequested)
            {
                return new Step(null, new End(CloseReason.Unsubscribed, null));
            }
            catch (TokenProviderException ex)
            {
                (failure, reached) = (ex.Status, false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && _attempt?.IsCancellationRequested == true && _options.MaxSilence is not null)
            {
                failure = new Status(StatusCode.Unavailable, $"nothing arrived for {_options.MaxSilence}: restarting the stream");
            }
            catch (RpcException ex)
            {
                (failure, reached) = (ex.Status, LongLivedClient.ReachedGateway(ex));
            }
            DropCall();
            if (await RetryAsync(failure, reached, token) is { } end) return new Step(null, end);
        }
    }

    private void Connect(Metadata? headers)
    {
        // Numbered per client object: an abandoned attempt that reaches a gateway late cannot replace this one.
        var request = new Request { Id = clientId, ClientInstance = client.Instance, Attempt = client.NextAttempt() };
        request.Topics.AddRange(topics);
        foreach (var (channel, position) in _positions) request.Positions[channel] = new Position { Offset = position.Offset, Epoch = position.Epoch };
        if (_options.MaxSilence is { } silence) _attempt!.CancelAfter(silence); // the response headers too
        _call = client.Grpc.Subscribe(request, new CallOptions(headers, cancellationToken: _attempt!.Token));
    }

    /// <summary>Ends the current call, if any; whatever it still reports is ignored (a newer call may already run).</summary>
    private void DropCall()
    {
        _call?.Dispose();
        _call = null;
        _attempt?.Dispose();
        _attempt = null;
    }

    private void OnHeaders(Metadata headers)
    {
        var args = new SubscribedEventArgs(clientId, headers.GetValue(ProtocolNames.SessionHeader),
            Channels(headers.GetValue(ProtocolNames.RecoveredHeader)), Channels(headers.GetValue(ProtocolNames.UnrecoverableHeader)), _subscribedBefore);
        _subscribedBefore = true;
        client.Logger.LogDebug("Subscribed as {ClientId} (session {Session}; recovered {Recovered}, unrecoverable {Unrecoverable})",
            clientId, args.SessionId, args.Recovered.Count, args.Unrecoverable.Count);
        client.OnSubscribed(args);

        static IReadOnlyList<string> Channels(string? header) => string.IsNullOrEmpty(header) ? []
            : [.. header.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString)];
    }

    /// <summary>After a failure: end (refused, or the policy gave up) or wait the policy's delay. Null: try again.</summary>
    private async Task<End?> RetryAsync(Status status, bool reached, CancellationToken token)
    {
        if (IsTerminal(status.StatusCode))
        {
            client.Logger.LogWarning("Subscription of {ClientId} refused: {Status} {Detail}", clientId, status.StatusCode, status.Detail);
            return new End(CloseReason.Refused, new RpcException(status));
        }
        if (status.StatusCode == StatusCode.Unauthenticated && reached) client.Tokens.Refused(clientId);
        var (context, chosen) = _failures.Next(_options.RetryPolicy, status, reached);
        if (chosen is not { } delay)
        {
            client.Logger.LogWarning("Subscription of {ClientId} gave up after {Attempts} failures: {Status} {Detail}", clientId, context.Attempt, status.StatusCode, status.Detail);
            return new End(CloseReason.GaveUp, new RpcException(status));
        }
        ClientTelemetry.Reconnects.Add(1);
        client.Logger.LogInformation("Subscription of {ClientId} failed ({Status}: {Detail}); resuming in {Delay} ms (attempt {Attempt})",
            clientId, status.StatusCode, status.Detail, (long)delay.TotalMilliseconds, context.Attempt);
        client.OnReconnecting(new ReconnectingEventArgs(clientId, status, context.Attempt, delay));
        if (delay <= TimeSpan.Zero) return null;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(token, _unsubscribed.Token);
        try
        {
            await Task.Delay(delay, wait.Token);
            return null;
        }
        catch (OperationCanceledException)
        {
            return new End(_unsubscribed.IsCancellationRequested ? CloseReason.Unsubscribed : CloseReason.Stopped, null);
        }
    }

    /// <summary>Statuses a retry cannot change: the request or the token is wrong, or a newer subscription took over.</summary>
    private bool IsTerminal(StatusCode status) => status switch
    {
        StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.Aborted or StatusCode.Unimplemented => true,
        StatusCode.Unauthenticated => _options.TokenProvider is null, // without a provider there is no other token to try
        _ => false,
    };

    /// <summary>The message is handed over: its position is the channel's now.</summary>
    private void Take(LongLivedMessage message)
    {
        _positions.TryGetValue(message.Channel, out var previous);
        var reset = message.Unrecoverable ? ResetReason.Unrecoverable
            : previous is { Offset: > 0 } && previous.Epoch != message.Epoch ? ResetReason.EpochChanged
            : (ResetReason?)null;
        if (reset is { } reason)
        {
            ClientTelemetry.Resets.Add(1);
            client.Logger.LogWarning("{ClientId}: {Channel} continues at {Offset} after a loss ({Reason})", clientId, message.Channel, message.Offset, reason);
            client.OnChannelReset(new ChannelResetEventArgs(clientId, message.Channel, previous, message.Position, reason));
        }
        _positions[message.Channel] = message.Position;
        _positionsDirty = true;
        if (_options.AutoAcknowledge && _options.AcknowledgeInterval > TimeSpan.Zero)
        {
            lock (_unacknowledged) _unacknowledged[message.Channel] = message.Position;
        }
        ClientTelemetry.Messages.Add(1);
    }

    /// <summary>The caller asked for the next message: acknowledge inline if so configured, save positions when due.</summary>
    private async Task AfterTakenAsync(LongLivedMessage message, CancellationToken token)
    {
        if (_options.AutoAcknowledge && _options.AcknowledgeInterval <= TimeSpan.Zero)
        {
            await AcknowledgeAsync(new Dictionary<string, ChannelPosition> { [message.Channel] = message.Position }, token);
        }
        if (Stopwatch.GetElapsedTime(_savedAt) >= _options.PositionSaveInterval) await SavePositionsAsync(token);
    }

    private async Task AcknowledgeEveryIntervalAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(_options.AcknowledgeInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token)) await AcknowledgeUnacknowledgedAsync(token);
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Stopped, with a call in flight (an RpcException CANCELLED) or not: what is left goes out in FinishAsync.
        }
    }

    private async Task AcknowledgeUnacknowledgedAsync(CancellationToken token)
    {
        Dictionary<string, ChannelPosition> due;
        lock (_unacknowledged)
        {
            if (_unacknowledged.Count == 0) return;
            due = new(_unacknowledged, StringComparer.Ordinal);
            _unacknowledged.Clear();
        }
        if (await AcknowledgeAsync(due, token)) return;
        lock (_unacknowledged)
        {
            // Sent again with the next round, unless a newer position replaced it meanwhile.
            foreach (var (channel, position) in due) _unacknowledged.TryAdd(channel, position);
        }
    }

    /// <summary>One acknowledgement, retries included, bounded by the call timeout: a later one covers it, and delivery must not wait.</summary>
    private async Task<bool> AcknowledgeAsync(IReadOnlyDictionary<string, ChannelPosition> positions, CancellationToken token)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
        bounded.CancelAfter(_options.CallTimeout);
        try
        {
            await client.AcknowledgeAsync(clientId, positions, bounded.Token);
            return true;
        }
        catch (Exception ex) when (token.IsCancellationRequested && ex is RpcException or OperationCanceledException)
        {
            return false; // stopped meanwhile: the enumeration ends as Stopped, not with the cancelled call's status
        }
        catch (Exception ex) when (ex is RpcException or TokenProviderException or OperationCanceledException)
        {
            var status = ex switch
            {
                RpcException { StatusCode: not StatusCode.Cancelled } rpc => rpc.Status,
                TokenProviderException provider => provider.Status,
                _ => new Status(StatusCode.DeadlineExceeded, $"not acknowledged within {_options.CallTimeout}"),
            };
            client.Logger.LogDebug("Acknowledgement of {ClientId} failed: {Status} {Detail}", clientId, status.StatusCode, status.Detail);
            client.OnAcknowledgeFailed(new AcknowledgeFailedEventArgs(clientId, status));
            return false;
        }
    }

    private async Task SavePositionsAsync(CancellationToken token)
    {
        if (!_positionsDirty) return;
        try
        {
            await _options.PositionStore.SaveAsync(clientId, new Dictionary<string, ChannelPosition>(_positions, StringComparer.Ordinal), token);
            _positionsDirty = false;
            _savedAt = Stopwatch.GetTimestamp();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Delivery goes on; the store is tried again at the next save.
            client.Logger.LogWarning(ex, "Saving the positions of {ClientId} failed", clientId);
        }
    }

    /// <summary>
    /// Saves positions and sends what is still unacknowledged (bounded by the call timeout), then says so. Never throws:
    /// it runs in the enumeration's finally, and <see cref="Completion"/> must complete whatever happened.
    /// </summary>
    private async Task FinishAsync(End end, Task? acknowledging)
    {
        try
        {
            if (acknowledging is not null) await acknowledging;
            using var finish = new CancellationTokenSource(_options.CallTimeout);
            await SavePositionsAsync(finish.Token);
            if (_options.AutoAcknowledge && _options.AcknowledgeInterval > TimeSpan.Zero && end.Reason != CloseReason.Refused)
            {
                await AcknowledgeUnacknowledgedAsync(finish.Token);
            }
        }
        catch (Exception ex)
        {
            client.Logger.LogDebug(ex, "Finishing the subscription of {ClientId}: the last acknowledgement did not go out", clientId);
        }
        finally
        {
            client.Unregister(this);
            ClientTelemetry.Subscriptions.Add(-1);
            client.Logger.LogInformation("Subscription of {ClientId} ended ({Reason})", clientId, end.Reason);
            client.OnClosed(new ClosedEventArgs(clientId, end.Reason, end.Error));
            _completion.TrySetResult();
        }
    }

    private static LongLivedMessage ToMessage(Response response) => new(response.Channel, response.Offset, response.Epoch, response.Data,
        DateTimeOffset.FromUnixTimeMilliseconds(response.PublishTimeUnixMs), response.Unrecoverable);

    private sealed record End(CloseReason Reason, Exception? Error);

    private readonly record struct Step(LongLivedMessage? Message, End? End);
}
