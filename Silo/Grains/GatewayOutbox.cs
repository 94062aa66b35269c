using LongLived.Contracts.Grains;
using LongLived.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// What this silo's channels send one gateway with <c>Orleans:Delivery=observer</c>: one <see cref="IGatewayObserver.Deliver"/>
/// call at a time, carrying every batch queued while the last one was in flight (<see cref="Outbox{TItem}"/>).
/// </summary>
internal sealed class GatewayOutbox(string gatewayId, IGrainFactory grains, int capacity) : Outbox<DeliveryBatch>($"gateway {gatewayId}", capacity)
{
    private IGatewayObserver? _gateway; // from the directory, once it lists the gateway (a gateway's reference never changes)

    protected override async Task CallAsync(List<DeliveryBatch> batches, int events)
    {
        var gateway = _gateway ??= await grains.GetGrain<IGatewayDirectory>(0).Observer(gatewayId)
            ?? throw new InvalidOperationException($"gateway {gatewayId} is not in the gateway directory");
        await gateway.Deliver([.. batches]);
    }
}
