using System.Diagnostics;
using System.Text;
using Grpc.Core;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using LongLived.Gateway.Security;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Sessions;
using LongLived.Gateway.Resume;

namespace LongLived.Gateway.Services;

/// <summary>The protos.Longlived service: the original three RPCs plus Publish, all backed by grains.</summary>
[BindServiceMethod(typeof(LonglivedBinding), nameof(LonglivedBinding.BindService))]
public sealed class LonglivedService(
    IClusterClient cluster,
    SessionLifecycle sessions,
    SessionRelay relay,
    DrainSignal drain,
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

        var attempt = request.ClientInstance.Length > 0 ? new ClientAttempt(request.ClientInstance, request.Attempt) : null;
        var session = new SubscriberSession(request.Id, channels, _options.StreamBufferCapacity, attempt) { Arrived = arrived };
        await sessions.RunAsync(session, tokenExpires, context, stop => relay.RunAsync(session, request.Positions, responseStream, context, stop));
    }

    public override async Task<Response> Unsubscribe(Request request, ServerCallContext context)
    {
        RequestValidator.ClientId(request.Id, _options);
        ThrowIfDraining();
        limits.CallFrom(context);
        await authorizer.ClientAsync(context, request.Id);
        if (!await cluster.GetClientGrain(request.Id).Unsubscribe())
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
        await cluster.GetClientGrain(request.Id).Acknowledge(positions);
        logger.LogDebug("NotifyReceived: {ClientId}", request.Id);
        return new Response { Data = $"NotifyReceived: {request.Id}" };
    }

    public override async Task<PublishResponse> Publish(PublishRequest request, ServerCallContext context)
    {
        RequestValidator.Publish(request, _options);
        ThrowIfDraining();
        limits.CallFrom(context);
        limits.Publish(await authorizer.PublishAsync(context, request.Channel), Encoding.UTF8.GetByteCount(request.Data));
        var message = await cluster.Grain<IChannelGrain>(request.Channel).Publish(request.Data, request.IdempotencyKey);
        return new PublishResponse { Offset = message.Offset, Epoch = message.Epoch, PublishTimeUnixMs = message.PublishedUnixMs };
    }

    private void ThrowIfDraining()
    {
        if (drain.IsDraining) throw new RpcException(new Status(StatusCode.Unavailable, "gateway draining: use another gateway"));
    }
}
