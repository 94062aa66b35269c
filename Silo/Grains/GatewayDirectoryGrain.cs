using LongLived.Contracts.Grains;
using Orleans.Streams.Core;

namespace LongLived.Silo.Grains;

/// <summary>
/// Every live gateway, by lease (see <see cref="IGatewayDirectory"/>). The list is stored when a gateway comes or goes
/// (renewals only move its lease, in memory: a new activation gives every stored gateway a fresh lease). A gateway whose
/// lease ran out died without leaving: its delivery streams' subscriptions are removed from the pub-sub store, which
/// otherwise keeps them forever (Orleans removes a dead client's subscription only when an event to it fails, and
/// channels stop sending to a gateway that stopped renewing its joins).
/// </summary>
[KeepAlive] // leases are in memory: a new activation gives every stored gateway a fresh one, so a dead one would look live for minutes more
public sealed class GatewayDirectoryGrain(
    [PersistentState("directory", StorageNames.Channels)] IPersistentState<GatewayDirectoryState> state,
    IStreamSubscriptionManagerAdmin subscriptions,
    TimeProvider time,
    ILogger<GatewayDirectoryGrain> logger) : Grain, IGatewayDirectory
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, DateTimeOffset> _expires = new(StringComparer.Ordinal);
    private bool _unsaved; // a change whose write failed: the next sweep writes it

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + SweepEvery * 6;
        foreach (var id in state.State.Gateways.Keys) _expires[id] = until;
        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(SweepEvery, SweepEvery) { KeepAlive = true, Interleave = false });
        return Task.CompletedTask;
    }

    public async Task<bool> Register(GatewayRoute route, IGatewayObserver gateway, TimeSpan lease)
    {
        var now = time.GetUtcNow();
        // A lease that ran out may have lost some of its subscriptions to a sweep that failed part-way: say "not known".
        var live = Renewed(route.GatewayId, now);
        _expires[route.GatewayId] = now + lease;
        if (state.State.Gateways.TryGetValue(route.GatewayId, out var known) && known.Route == route) return live;
        state.State.Gateways[route.GatewayId] = new GatewayEntry(route, gateway);
        await SaveAsync(CancellationToken.None);
        return false;
    }

    public Task<IGatewayObserver?> Observer(string gatewayId) =>
        Task.FromResult(Renewed(gatewayId, time.GetUtcNow()) && state.State.Gateways.TryGetValue(gatewayId, out var entry) ? entry.Gateway : null);

    /// <summary>Whether the gateway's lease still runs.</summary>
    private bool Renewed(string gatewayId, DateTimeOffset now) => _expires.GetValueOrDefault(gatewayId) >= now;

    /// <summary>A failed write (storage down) does not fail the gateway's registration: the list is in memory, and the sweep writes it again.</summary>
    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await state.WriteStateAsync(cancellationToken);
            _unsaved = false;
        }
        catch (Exception ex)
        {
            _unsaved = true;
            logger.LogWarning("Storing the gateway directory failed ({Error}); retrying at the next sweep", ex.Message);
        }
    }

    public Task<IReadOnlyList<IGatewayObserver>> Live() => Task.FromResult<IReadOnlyList<IGatewayObserver>>([.. LiveById().Values]);

    public Task<Dictionary<string, IGatewayObserver>> Gateways() => Task.FromResult(LiveById());

    private Dictionary<string, IGatewayObserver> LiveById()
    {
        var now = time.GetUtcNow();
        return state.State.Gateways.Where(g => Renewed(g.Key, now)).ToDictionary(g => g.Key, g => g.Value.Gateway, StringComparer.Ordinal);
    }

    public Task<IReadOnlyList<string>> LiveIds()
    {
        var now = time.GetUtcNow();
        return Task.FromResult<IReadOnlyList<string>>([.. state.State.Gateways.Keys.Where(id => Renewed(id, now))]);
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var dead = state.State.Gateways.Values.Where(g => !Renewed(g.Route.GatewayId, now)).ToArray();
        if (dead.Length == 0)
        {
            if (_unsaved) await SaveAsync(cancellationToken);
            return;
        }
        var manager = subscriptions.GetStreamSubscriptionManager(StreamSubscriptionManagerType.ExplicitSubscribeOnly);
        foreach (var gateway in dead)
        {
            try
            {
                var removed = 0;
                for (var shard = 0u; shard < gateway.Route.Shards; shard++)
                {
                    var stream = StreamId.Create(DeliveryStreams.GatewayNamespace, DeliveryStreams.ShardKey(gateway.Route.GatewayId, shard));
                    foreach (var subscription in await manager.GetSubscriptions(DeliveryStreams.Provider, stream))
                    {
                        await manager.RemoveSubscription(DeliveryStreams.Provider, stream, subscription.SubscriptionId);
                        removed++;
                    }
                }
                state.State.Gateways.Remove(gateway.Route.GatewayId);
                _expires.Remove(gateway.Route.GatewayId);
                logger.LogInformation("Gateway {Gateway} stopped renewing its registration: forgotten, and the {Removed} subscriptions of its {Shards} delivery streams removed",
                    gateway.Route.GatewayId, removed, gateway.Route.Shards);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Removing the subscriptions of gone gateway {Gateway} failed ({Error}); retrying at the next sweep", gateway.Route.GatewayId, ex.Message);
            }
        }
        await SaveAsync(cancellationToken);
    }
}

/// <summary>The gateways <see cref="GatewayDirectoryGrain"/> knows, by id.</summary>
[GenerateSerializer, Alias("ll.GatewayDirectoryState")]
public sealed class GatewayDirectoryState
{
    [Id(0)] public Dictionary<string, GatewayEntry> Gateways { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("ll.GatewayEntry")]
public sealed record GatewayEntry([property: Id(0)] GatewayRoute Route, [property: Id(1)] IGatewayObserver Gateway);
