using System.Diagnostics;
using Grpc.Core;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Cluster;

namespace LongLived.Gateway.Sessions;

/// <summary>
/// A session's life at the cluster, around one Subscribe call: its Subscribe at the client grain (which fences: the
/// newest Subscribe of a client id wins), its Disconnect, and the timers that end it (maximum age, token expiry). It
/// also decides how the call ends: OK, the session's own status, draining, or the client gone.
/// </summary>
public sealed class SessionLifecycle(
    IClusterClient cluster,
    SessionRegistry registry,
    GatewayObserver observer,
    DrainSignal drain,
    GatewayMetrics metrics,
    IOptions<GatewayOptions> options,
    ILogger<SessionLifecycle> logger)
{
    private readonly GatewayOptions _options = options.Value;

    /// <summary>
    /// Runs <paramref name="relay"/> while <paramref name="session"/> lives (it calls <see cref="SubscribeAsync"/>), with
    /// the token that ends the session. Throws the <see cref="RpcException"/> the client is to get, or returns for OK.
    /// </summary>
    public async Task RunAsync(SubscriberSession session, DateTimeOffset? tokenExpires, ServerCallContext context, Func<CancellationToken, Task> relay)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, session.Ended, drain.Token);
        using var maxAge = MaxAgeTimer(session);
        using var expiry = tokenExpires is { } expires ? EndTimer(session, expires - DateTimeOffset.UtcNow, new Status(StatusCode.Unauthenticated,
            "token expired: get a new one and resubscribe with your positions")) : null;
        var client = cluster.GetClientGrain(session.ClientId);
        registry.Add(session);
        metrics.StreamStarted();
        var outcome = StatusCode.Unknown; // what the client is told; Unknown until decided
        try
        {
            await relay(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ended by us (replaced, unsubscribed, overflow, drain) or by the client going away: say which, below.
        }
        catch (RpcException ex)
        {
            outcome = ex.StatusCode;
            throw;
        }
        finally
        {
            registry.Remove(session);
            await DisconnectAsync(client, session);
            outcome = outcome != StatusCode.Unknown ? outcome : EndOf(session, context);
            metrics.StreamEnded(outcome);
        }

        if (session.EndStatus is { } status)
        {
            logger.LogInformation("Closing stream for client ID: {ClientId} ({Status})", session.ClientId, status.StatusCode);
            if (status.StatusCode != StatusCode.OK) throw new RpcException(status);
        }
        else if (outcome == StatusCode.Unavailable)
        {
            logger.LogInformation("Closing stream for client ID: {ClientId} (gateway draining)", session.ClientId);
            throw new RpcException(new Status(StatusCode.Unavailable, "gateway draining: resubscribe with your positions"));
        }
        else
        {
            logger.LogInformation("Client ID {ClientId} has disconnected", session.ClientId);
        }
    }

    /// <summary>
    /// The session's Subscribe at its client grain, which is also its own channel's (<see cref="IClientGrain.Subscribe"/>):
    /// fence, join <paramref name="route"/> as <paramref name="join"/>, and the history after <paramref name="position"/>
    /// (or the acknowledged one). A session a newer one already replaced ends with ABORTED, and this throws.
    /// </summary>
    public async Task<SubscribeGrant> SubscribeAsync(SubscriberSession session, GatewayRoute route, TimeSpan lease, long join, ChannelPosition? position, int pageSize)
    {
        var info = new SessionInfo(session.SessionId, observer.GatewayId, observer.Reference, [.. session.Channels.Skip(1)],
            Stopwatch.GetElapsedTime(session.Arrived), session.Attempt);
        var grant = await cluster.GetClientGrain(session.ClientId).Subscribe(info, route, lease, join, position, pageSize);
        if (!grant.Accepted)
        {
            session.End(new Status(StatusCode.Aborted, "superseded: a newer Subscribe for this client id is live"));
            throw new OperationCanceledException(session.Ended);
        }
        session.Fence = grant.Fence;
        return grant;
    }

    /// <summary>The session is about to send its first message (one-way, <see cref="IClientGrain.Started"/>).</summary>
    public Task StartedAsync(SubscriberSession session) => cluster.GetClientGrain(session.ClientId).Started(session.SessionId);

    /// <summary>How a stream that ended without an error ends: its session's status, draining, or the client gone.</summary>
    private StatusCode EndOf(SubscriberSession session, ServerCallContext context) =>
        session.EndStatus?.StatusCode
        ?? (context.CancellationToken.IsCancellationRequested ? StatusCode.Cancelled
            : drain.IsDraining ? StatusCode.Unavailable
            : StatusCode.Internal);

    /// <summary>Ends the session at its jittered maximum age (null when streams may live forever).</summary>
    private ITimer? MaxAgeTimer(SubscriberSession session)
    {
        if (_options.MaxStreamAge <= TimeSpan.Zero) return null;
        var age = _options.MaxStreamAge * (0.8 + 0.4 * Random.Shared.NextDouble());
        return EndTimer(session, age, new Status(StatusCode.Unavailable, "rebalance: stream reached its maximum age; resubscribe with your positions"));
    }

    /// <summary>Ends the session after <paramref name="after"/>; null beyond what a timer can wait (~49 days: a token
    /// valid for a year must not fail the call).</summary>
    private static ITimer? EndTimer(SubscriberSession session, TimeSpan after, Status status) =>
        after >= TimeSpan.FromDays(40) ? null
        : TimeProvider.System.CreateTimer(_ => session.End(status), null, after > TimeSpan.Zero ? after : TimeSpan.Zero, Timeout.InfiniteTimeSpan);

    private async Task DisconnectAsync(IClientGrain client, SubscriberSession session)
    {
        // Draining: the client is about to subscribe elsewhere, which replaces this session anyway; skipping the call
        // halves the grain calls of a drain that has to fit in Gateway:DrainTimeout.
        if (drain.IsDraining) return;
        try
        {
            await client.Disconnect(session.SessionId).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex)
        {
            // Harmless: the next Subscribe for this id replaces the stale session anyway.
            logger.LogDebug(ex, "Disconnect of client {ClientId} not recorded", session.ClientId);
        }
    }
}
