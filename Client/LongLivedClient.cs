using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using LongLived.Client.Retry;
using LongLived.Client.Tokens;
using LongLived.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LongLived.Client;

/// <summary>
/// A client of LongLived gateways: one long-lived connection to them, over which any number of subscriptions (one per
/// client id) and publishes run. A subscription outlives reconnects: it resumes from the positions it handed over, so
/// nothing is lost and nothing repeats. Thread-safe; make one per process and dispose it at the end.
/// </summary>
public sealed class LongLivedClient : IAsyncDisposable, IDisposable
{
    private readonly GrpcChannel _connection;
    private readonly CancellationTokenSource _disposing = new();
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);

    /// <summary>A client with <paramref name="options"/>; the connection is made on the first call.</summary>
    public LongLivedClient(LongLivedClientOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Addresses = GatewayAddresses.Parse(options.Address);
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LongLivedClient>();
        _connection = GatewayConnection.Create(Addresses, options, loggerFactory);
        Grpc = new Longlived.LonglivedClient(_connection.Intercept([.. options.Interceptors]));
        Tokens = new TokenCache(options.TokenProvider, options.TokenRefreshBefore, TimeProvider.System);
    }

    /// <summary>A subscription's call was accepted; says which channels resumed and which lost messages.</summary>
    public event EventHandler<SubscribedEventArgs>? Subscribed;

    /// <summary>A subscription's call failed; it is made again after the delay the retry policy chose.</summary>
    public event EventHandler<ReconnectingEventArgs>? Reconnecting;

    /// <summary>A channel continues after messages were lost (an unrecoverable break or a new epoch).</summary>
    public event EventHandler<ChannelResetEventArgs>? ChannelReset;

    /// <summary>A subscription ended.</summary>
    public event EventHandler<ClosedEventArgs>? Closed;

    /// <summary>An automatic acknowledgement failed.</summary>
    public event EventHandler<AcknowledgeFailedEventArgs>? AcknowledgeFailed;

    /// <summary>The gateways this client balances over.</summary>
    public GatewayAddresses Addresses { get; }

    /// <summary>The client's connection to the gateways, for other services they serve (health, reflection).</summary>
    public GrpcChannel Connection => _connection;

    /// <summary>Names this client object in its Subscribe calls (Request.client_instance).</summary>
    internal string Instance { get; } = Guid.NewGuid().ToString("N");
    private long _attempts;

    /// <summary>The next Subscribe call's number (Request.attempt): growing over every subscription of this client.</summary>
    internal ulong NextAttempt() => (ulong)Interlocked.Increment(ref _attempts);

    internal LongLivedClientOptions Options { get; }
    internal ILogger Logger { get; }
    internal Longlived.LonglivedClient Grpc { get; }
    internal TokenCache Tokens { get; }
    internal CancellationToken Disposing => _disposing.Token;

    /// <summary>
    /// Subscribes as <paramref name="clientId"/> to its own channel and <paramref name="topics"/>, from the positions the
    /// <see cref="LongLivedClientOptions.PositionStore"/> holds for it. The enumeration outlives reconnects; a message's
    /// position counts as taken once it is handed to you. It ends when <see cref="UnsubscribeAsync"/> ends the
    /// subscription (wherever it runs) and throws <see cref="RpcException"/> on a status retrying cannot change
    /// (PERMISSION_DENIED, INVALID_ARGUMENT, ABORTED: a newer subscription of this id took over) or when the retry
    /// policy gives up. Enumerate it once.
    /// </summary>
    public IAsyncEnumerable<LongLivedMessage> SubscribeAsync(string clientId, IEnumerable<string>? topics = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        return new Subscription(this, clientId, [.. topics ?? []]).RunAsync(cancellationToken);
    }

    /// <summary>
    /// Ends <paramref name="clientId"/>'s subscription: its live call on whatever gateway holds it, and one of this
    /// client that is still connecting or waiting to retry. Returns false if no gateway held a live call for it.
    /// </summary>
    public async Task<bool> UnsubscribeAsync(string clientId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        try
        {
            await CallAsync(clientId, options => Grpc.UnsubscribeAsync(new Request { Id = clientId }, options), cancellationToken);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
        finally
        {
            // Between calls (connecting, or waiting to retry) no gateway holds it: stop it here too.
            if (_subscriptions.TryGetValue(clientId, out var local)) local.Unsubscribe();
        }
    }

    /// <summary>
    /// Appends <paramref name="data"/> to <paramref name="topic"/>. Retries after a failure the retry policy allows,
    /// always with the same idempotency key (one is made when none is given), so a retry whose first attempt did land
    /// returns that attempt's offset instead of appending twice. The default policy never gives up: bound the wait with
    /// <paramref name="cancellationToken"/> (each attempt is bounded by <see cref="LongLivedClientOptions.CallTimeout"/>).
    /// </summary>
    public async Task<PublishResult> PublishAsync(string topic, string data, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentNullException.ThrowIfNull(data);
        var request = new PublishRequest { Channel = topic, Data = data, IdempotencyKey = idempotencyKey ?? Guid.NewGuid().ToString("N") };
        using var activity = ClientTelemetry.Source.StartActivity("LongLived.Publish", ActivityKind.Client);
        activity?.SetTag("longlived.topic", topic);
        try
        {
            var reply = await CallAsync(null, options => Grpc.PublishAsync(request, options), cancellationToken);
            ClientTelemetry.Publishes.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            return new PublishResult(reply.Offset, reply.Epoch, DateTimeOffset.FromUnixTimeMilliseconds(reply.PublishTimeUnixMs));
        }
        catch (Exception)
        {
            ClientTelemetry.Publishes.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            activity?.SetStatus(ActivityStatusCode.Error);
            throw;
        }
    }

    /// <summary>
    /// Acknowledges <paramref name="positions"/> (the last offset taken per channel) for <paramref name="clientId"/>.
    /// Not needed with <see cref="LongLivedClientOptions.AutoAcknowledge"/>.
    /// </summary>
    public async Task AcknowledgeAsync(string clientId, IReadOnlyDictionary<string, ChannelPosition> positions, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentNullException.ThrowIfNull(positions);
        var request = new Request { Id = clientId };
        foreach (var (channel, position) in positions) request.Positions[channel] = new Position { Offset = position.Offset, Epoch = position.Epoch };
        try
        {
            await CallAsync(clientId, options => Grpc.NotifyReceivedAsync(request, options), cancellationToken);
            ClientTelemetry.Acknowledgements.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
        }
        catch (Exception)
        {
            ClientTelemetry.Acknowledgements.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            throw;
        }
    }

    /// <summary>
    /// Ends every subscription (as <see cref="CloseReason.Stopped"/>; one whose enumerator is not being read ends when
    /// it is read or disposed), waits up to <see cref="LongLivedClientOptions.CallTimeout"/> for them to save their
    /// positions, and closes the connection.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested) return;
        _disposing.Cancel();
        try
        {
            await Task.WhenAll(_subscriptions.Values.Select(s => s.Completion)).WaitAsync(Options.CallTimeout);
        }
        catch (TimeoutException)
        {
            Logger.LogWarning("Disposed with {Count} subscriptions still held by enumerators nobody reads", _subscriptions.Count);
        }
        _connection.Dispose();
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// One unary call with the token of <paramref name="clientId"/>, retried as the retry policy says after statuses
    /// that a retry can change (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAUTHENTICATED with a new token).
    /// </summary>
    internal async Task<T> CallAsync<T>(string? clientId, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        var failures = new FailureRow(clientId, Addresses.Count);
        while (true)
        {
            Status status;
            bool reached;
            try
            {
                var headers = await Tokens.HeadersAsync(clientId, cancellationToken);
                return await call(new CallOptions(headers, DateTime.UtcNow + Options.CallTimeout, cancellationToken));
            }
            catch (TokenProviderException ex)
            {
                (status, reached) = (ex.Status, false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && IsRetryable(ex.StatusCode))
            {
                if (ex.StatusCode == StatusCode.Unauthenticated) Tokens.Refused(clientId);
                (status, reached) = (ex.Status, ReachedGateway(ex));
            }
            var delay = failures.Next(Options.RetryPolicy, status, reached).Delay ?? throw new RpcException(status);
            if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken);
        }
    }

    private bool IsRetryable(StatusCode status) => status switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted => true,
        StatusCode.Unauthenticated => Options.TokenProvider is not null, // a new token may be accepted
        _ => false,
    };

    /// <summary>
    /// False when the call failed before any byte reached a gateway: the balancer's connection to the address failed
    /// ("Error connecting to subchannel"), or the picked connection was refused ("Error starting gRPC call").
    /// </summary>
    internal static bool ReachedGateway(RpcException ex) =>
        !(ex.StatusCode == StatusCode.Unavailable
          && (ex.Status.DebugException is System.Net.Sockets.SocketException
              || ex.Status.DebugException is HttpRequestException && ex.Status.Detail.StartsWith("Error starting gRPC call", StringComparison.Ordinal)));

    internal void Register(Subscription subscription) => _subscriptions[subscription.ClientId] = subscription;

    internal void Unregister(Subscription subscription) => _subscriptions.TryRemove(new(subscription.ClientId, subscription));

    internal void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null) return;
        try
        {
            handler(this, args);
        }
        catch (Exception ex)
        {
            // A handler's bug is the application's: logged, never allowed to break a subscription.
            Logger.LogError(ex, "A {Event} handler threw; the client carries on", typeof(T).Name.Replace("EventArgs", ""));
        }
    }

    internal void OnSubscribed(SubscribedEventArgs args) => Raise(Subscribed, args);
    internal void OnReconnecting(ReconnectingEventArgs args) => Raise(Reconnecting, args);
    internal void OnChannelReset(ChannelResetEventArgs args) => Raise(ChannelReset, args);
    internal void OnClosed(ClosedEventArgs args) => Raise(Closed, args);
    internal void OnAcknowledgeFailed(AcknowledgeFailedEventArgs args) => Raise(AcknowledgeFailed, args);
}
