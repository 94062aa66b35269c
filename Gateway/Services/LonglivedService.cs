using System.Diagnostics;
using System.Text;
using Grpc.Core;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Admin;
using LongLived.Gateway.Options;
using LongLived.Gateway.Relay;
using LongLived.Gateway.Security;
using Microsoft.Extensions.Options;

namespace LongLived.Gateway.Services;

/// <summary>The protos.Longlived service: the original three RPCs plus Publish, all backed by grains.</summary>
[BindServiceMethod(typeof(LonglivedBinding), nameof(LonglivedBinding.BindService))]
public sealed class LonglivedService(
    IClusterClient cluster,
    SessionRelay relay,
    SessionRegistry registry,
    DrainSignal drain,
    GatewayMetrics metrics,
    CallAuthorizer authorizer,
    CallLimits limits,
    IOptions<GatewayOptions> options,
    ILogger<LonglivedService> logger) : Longlived.LonglivedBase
{
    private readonly GatewayOptions _options = options.Value;

    public override async Task Subscribe(Request request, IServerStreamWriter<Response> responseStream, ServerCallContext context)
    {
        var arrived = Stopwatch.GetTimestamp(); // orders this Subscribe among the client's others (SessionInfo.Waited)
        var channels = RequestValidator.SubscribeChannels(request, _options);
        ThrowIfDraining();
        limits.SubscribeFrom(context);
        var tokenExpires = await authorizer.SubscribeAsync(context, request.Id, channels.Skip(1));
        limits.SubscribeAs(request.Id);
        using var slot = limits.OpenStream();
        logger.LogInformation("Received subscribe request from ID: {ClientId}", request.Id);

        var session = new SubscriberSession(request.Id, channels, _options.StreamBufferCapacity);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, session.Ended, drain.Token);
        using var maxAge = MaxAgeTimer(session);
        using var expiry = tokenExpires is { } expires ? EndTimer(session, expires - DateTimeOffset.UtcNow, new Status(StatusCode.Unauthenticated,
            "token expired: get a new one and resubscribe with your positions")) : null;
        var client = cluster.GetGrain<IClientGrain>(request.Id);
        registry.Add(session);
        metrics.StreamStarted();
        var outcome = StatusCode.Unknown; // what the client is told; Unknown until decided
        try
        {
            var attempt = request.ClientInstance.Length > 0 ? new ClientAttempt(request.ClientInstance, request.Attempt) : null;
            var grant = await client.Connect(new SessionInfo(session.SessionId, registry.GatewayId, registry.Reference, [.. channels.Skip(1)], Stopwatch.GetElapsedTime(arrived), attempt));
            if (grant.Accepted)
            {
                session.Fence = grant.Fence;
                await relay.RunAsync(session, Positions(request, channels[0], grant.ResumeFrom), responseStream, context, stop.Token);
            }
            else
            {
                session.End(new Status(StatusCode.Aborted, "superseded: a newer Subscribe for this client id is live"));
            }
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
            await ForgetAsync(client, session);
            outcome = outcome != StatusCode.Unknown ? outcome : EndOf(session, context);
            metrics.StreamEnded(outcome);
        }

        if (session.EndStatus is { } status)
        {
            logger.LogInformation("Closing stream for client ID: {ClientId} ({Status})", request.Id, status.StatusCode);
            if (status.StatusCode != StatusCode.OK) throw new RpcException(status);
        }
        else if (outcome == StatusCode.Unavailable)
        {
            logger.LogInformation("Closing stream for client ID: {ClientId} (gateway draining)", request.Id);
            throw new RpcException(new Status(StatusCode.Unavailable, "gateway draining: resubscribe with your positions"));
        }
        else
        {
            logger.LogInformation("Client ID {ClientId} has disconnected", request.Id);
        }
    }

    /// <summary>
    /// The client's positions; without one for its own channel, the position it last acknowledged there (known to its
    /// client grain): a client of the original contract, which sends no positions, resumes without loss too.
    /// </summary>
    private static IReadOnlyDictionary<string, Position> Positions(Request request, string ownChannel, ChannelPosition? acknowledged)
    {
        if (acknowledged is null || request.Positions.ContainsKey(ownChannel)) return request.Positions;
        return new Dictionary<string, Position>(request.Positions)
        {
            [ownChannel] = new Position { Offset = acknowledged.Offset, Epoch = acknowledged.Epoch },
        };
    }

    /// <summary>How a stream that ended without an error ends: its session's status, draining, or the client gone.</summary>
    private StatusCode EndOf(SubscriberSession session, ServerCallContext context) =>
        session.EndStatus?.StatusCode
        ?? (context.CancellationToken.IsCancellationRequested ? StatusCode.Cancelled
            : drain.IsDraining ? StatusCode.Unavailable
            : StatusCode.Internal);

    public override async Task<Response> Unsubscribe(Request request, ServerCallContext context)
    {
        RequestValidator.ClientId(request.Id, _options);
        ThrowIfDraining();
        limits.CallFrom(context);
        await authorizer.ClientAsync(context, request.Id);
        if (!await cluster.GetGrain<IClientGrain>(request.Id).Unsubscribe())
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no live subscription for client ID {request.Id}"));
        }
        logger.LogInformation("Unsubscribed client: {ClientId}", request.Id);
        return new Response { Data = $"Unsubscribed: {request.Id}" };
    }

    public override async Task<Response> NotifyReceived(Request request, ServerCallContext context)
    {
        RequestValidator.Acknowledgement(request, _options);
        ThrowIfDraining();
        limits.CallFrom(context);
        await authorizer.ClientAsync(context, request.Id);
        var positions = request.Positions.ToDictionary(p => p.Key, p => new ChannelPosition(p.Value.Offset, p.Value.Epoch));
        await cluster.GetGrain<IClientGrain>(request.Id).Acknowledge(positions);
        logger.LogDebug("NotifyReceived: {ClientId}", request.Id);
        return new Response { Data = $"NotifyReceived: {request.Id}" };
    }

    public override async Task<PublishResponse> Publish(PublishRequest request, ServerCallContext context)
    {
        RequestValidator.Publish(request, _options);
        ThrowIfDraining();
        limits.CallFrom(context);
        limits.Publish(await authorizer.PublishAsync(context, request.Channel), Encoding.UTF8.GetByteCount(request.Data));
        var message = await cluster.GetGrain<IChannelGrain>(request.Channel).Publish(request.Data, request.IdempotencyKey);
        return new PublishResponse { Offset = message.Offset, Epoch = message.Epoch, PublishTimeUnixMs = message.PublishedUnixMs };
    }

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

    private void ThrowIfDraining()
    {
        if (drain.IsDraining) throw new RpcException(new Status(StatusCode.Unavailable, "gateway draining: use another gateway"));
    }

    private async Task ForgetAsync(IClientGrain client, SubscriberSession session)
    {
        // Draining: the client is about to Connect elsewhere, which replaces this session anyway; skipping the call
        // halves the grain calls of a drain that has to fit in Gateway:DrainTimeout.
        if (drain.IsDraining) return;
        try
        {
            await client.Disconnect(session.SessionId).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex)
        {
            // Harmless: the next Connect for this id replaces the stale session anyway.
            logger.LogDebug(ex, "Disconnect of client {ClientId} not recorded", session.ClientId);
        }
    }
}
