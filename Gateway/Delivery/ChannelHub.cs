using System.Collections.Concurrent;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Cluster;
using LongLived.Streams.Hosting;

namespace LongLived.Gateway.Delivery;

/// <summary>
/// The channels with local subscribers, and this gateway's delivery streams. The first local subscriber of a channel
/// joins its grain for the whole gateway and the last one leaves; every message then arrives once, on one of the
/// gateway's few delivery streams (<see cref="DeliveryStreams"/>), and goes to each local subscriber's buffer. Stream
/// subscriptions: <c>Gateway:DeliveryShards</c>, however many clients and channels. With <c>Orleans:Delivery=observer</c>
/// the messages arrive in calls to the gateway's observer instead (<see cref="GatewayObserver.Delivered"/>).
/// </summary>
public sealed class ChannelHub(IClusterClient cluster, GatewayObserver observer, DeliveryStreamOptions delivery, DrainSignal drain, GatewayMetrics metrics, IOptions<GatewayOptions> options, ILogger<ChannelHub> logger)
    : IHostedService
{
    /// <summary>A join or head read that takes longer (a silo that just died) is abandoned: the next round tries again.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the gateway directory keeps this gateway without a renewal (renewed by the head check every 30 s).</summary>
    public static readonly TimeSpan DirectoryLease = TimeSpan.FromMinutes(3);

    private readonly ConcurrentDictionary<string, HubChannel> _channels = new(StringComparer.Ordinal);
    private readonly JoinSlots _slots = new();
    private readonly GatewayOptions _options = options.Value;
    private StreamSubscriptionHandle<DeliveryBatch>?[] _shards = [];

    /// <summary>Where channel grains send this gateway's messages.</summary>
    public GatewayRoute Route { get; } = new(observer.GatewayId, Math.Max(options.Value.DeliveryShards, 1)) { ByObserver = delivery.ByObserver };

    /// <summary>A join's own lease, for when its silo cannot read the gateway directory: three quiet-check intervals.</summary>
    public TimeSpan JoinLease => _options.QuietCheckInterval * 3;

    /// <summary>Channels with local subscribers, for the head check.</summary>
    public IEnumerable<HubChannel> Channels => _channels.Values;

    /// <summary>The names of the channels with local subscribers now (a copy).</summary>
    internal string[] NamesNow => [.. _channels.Keys];

    internal bool TryGetChannel(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out HubChannel entry) => _channels.TryGetValue(name, out entry);

    // Channels with news or a check due since the head check last looked: it looks at these, not at every channel, each
    // round (at 50,000 idle channels, touching each one every round was most of the gateway's idle CPU beside the runtime's own).
    private readonly ConcurrentQueue<HubChannel> _news = new();

    /// <summary>The channel showed news now: a live message, a head check that found more, or a check to try again.</summary>
    internal void Heard(HubChannel entry)
    {
        // A full fence before Watch reads the flag: the head check clears it, then reads HeardAt (see HeadCheckService.Due).
        Interlocked.Exchange(ref entry.HeardAt, Environment.TickCount64);
        Watch(entry);
    }

    /// <summary>Puts the channel before the head check's next round, once.</summary>
    internal void Watch(HubChannel entry)
    {
        if (Volatile.Read(ref entry.Watched) == 0 && Interlocked.Exchange(ref entry.Watched, 1) == 0) _news.Enqueue(entry);
    }

    /// <summary>The channels put before the head check since it last asked.</summary>
    internal void TakeNews(List<HubChannel> into)
    {
        while (_news.TryDequeue(out var entry)) into.Add(entry);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        observer.Restarted += OnChannelRestarted;
        if (delivery.ByObserver)
        {
            observer.Delivered += OnDelivery;
            logger.LogInformation("Gateway {Gateway} receives on its observer (Orleans:Delivery=observer)", Route.GatewayId);
        }
        else
        {
            _shards = new StreamSubscriptionHandle<DeliveryBatch>?[Route.Shards];
            observer.DeliveryStreamMissed += shard => CheckStream(shard, "batches left a silo's stream cache before this gateway took them");
            await EnsureSubscribedAsync();
            logger.LogInformation("Gateway {Gateway} receives on {Shards} delivery streams", Route.GatewayId, Route.Shards);
        }
        await RegisterAsync();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_shards.OfType<StreamSubscriptionHandle<DeliveryBatch>>().Select(h => h.UnsubscribeAsync())).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Leaving the delivery streams failed (the silo drops a gone client's subscriptions itself)");
        }
    }

    /// <summary>
    /// Subscribes to every delivery stream that has no subscription in the cluster: at start, and after the set of silos
    /// changed (a silo that died with in-memory pub-sub state took this gateway's subscriptions with it).
    /// </summary>
    public async Task EnsureSubscribedAsync()
    {
        var provider = cluster.GetStreamProvider(DeliveryStreams.Provider);
        for (var shard = 0u; shard < _shards.Length; shard++)
        {
            var stream = provider.GetStream<DeliveryBatch>(StreamId.Create(DeliveryStreams.GatewayNamespace, DeliveryStreams.ShardKey(Route.GatewayId, shard)));
            if (_shards[shard] is not null)
            {
                if ((await stream.GetAllSubscriptionHandles()).Count > 0) continue;
                logger.LogWarning("Delivery stream {Shard} lost its subscription (a silo left): subscribing again", shard);
            }
            var carried = shard;
            _shards[shard] = await stream.SubscribeAsync(OnDeliveryAsync, ex => OnDeliveryErrorAsync(carried, ex));
        }
    }

    /// <summary>
    /// Registers (or renews) this gateway in the directory channel grains tell when they restart, and whose list keeps
    /// this gateway's joins. A directory that had forgotten it (it could not renew for a whole lease) also removed its
    /// delivery streams' subscriptions, and the silos ended its joins: make the subscriptions again, and return true
    /// (every channel must be joined again).
    /// </summary>
    public async Task<bool> RegisterAsync()
    {
        bool known;
        try
        {
            known = await cluster.GetGrain<IGatewayDirectory>(0).Register(Route, observer.Reference, DirectoryLease).WaitAsync(CallTimeout);
        }
        catch
        {
            _recheck = _registered; // the answer may have been "forgotten", lost with the reply
            throw;
        }
        var forgotten = (!known || _recheck) && _registered;
        if (forgotten)
        {
            _recheck = true; // until the subscriptions are made again and the caller is told
            await EnsureSubscribedAsync(); // throws: tried again next time
        }
        _recheck = false;
        _registered = true;
        return forgotten;
    }

    private bool _registered, _recheck;

    /// <summary>
    /// Joins <paramref name="entry"/>'s grain again (renewing the join, or making it anew after a new activation) and hands
    /// every local subscriber the head it returns. A closed entry (its last subscriber left since) is skipped.
    /// </summary>
    public async Task RejoinAsync(HubChannel entry, string reason, CancellationToken cancellationToken = default)
    {
        // Not joined yet: its first join is under way (a client's own channel: its Subscribe, which may yet be refused).
        if (entry.Closed || !entry.Joined) return;
        metrics.HeadChecked(reason);
        var seen = entry.Seen;
        var head = await cluster.Grain<IChannelGrain>(entry.Name).Join(Route, JoinLease, entry.JoinId, entry.Fence, seen).WaitAsync(CallTimeout, cancellationToken);
        if (head.Head != seen?.Offset || head.Epoch != seen.Epoch)
        {
            // News (or a new epoch): check again once it is quiet, when what is still missing is filled (ResumeRules.FillTarget).
            entry.Saw(head.Epoch, head.Head, replace: true);
            Heard(entry);
        }
        foreach (var sink in entry.Sinks) sink.OfferHead(entry.Name, head, restarted: reason == RestartReason);
    }

    private const string RestartReason = "restart";

    private void OnChannelRestarted(string channel)
    {
        if (!_channels.TryGetValue(channel, out var entry) || !entry.Joined || entry.Closed) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await RejoinAsync(entry, RestartReason);
                logger.LogInformation("Channel {Channel} restarted or failed to send: joined it again", channel);
            }
            catch (Exception ex)
            {
                // The head check's sweep joins it later.
                Heard(entry);
                logger.LogWarning("Joining restarted channel {Channel} again failed ({Error}); the head check retries", channel, ex.Message);
            }
        });
    }

    /// <summary>
    /// Starts delivering the channel's live messages to <paramref name="sink"/>; dispose the result to stop. When this
    /// call joined the channel for the gateway, the result carries the head the grain returned. <paramref name="join"/>,
    /// given the entry's join id, replaces the grain's <see cref="IChannelGrain.Join"/> and runs even when the gateway
    /// had joined already (a client's own channel joins with its session's Subscribe call).
    /// </summary>
    public async Task<Membership> JoinAsync(string channel, IChannelSink sink, CancellationToken cancellationToken, Func<long, Task<ChannelHead>>? join = null)
    {
        while (true)
        {
            var entry = Entry(channel);
            await entry.Gate.WaitAsync(cancellationToken);
            try
            {
                if (entry.Closed) continue; // the last subscriber left while we waited: take a fresh entry
                ChannelHead? head = null;
                if (!entry.Joined || join is not null)
                {
                    try
                    {
                        head = join is not null ? await join(entry.JoinId)
                            : await cluster.Grain<IChannelGrain>(channel).Join(Route, JoinLease, entry.JoinId, sink.Fence, null);
                        entry.Saw(head.Epoch, head.Head, replace: true);
                        entry.Joined = true;
                    }
                    catch
                    {
                        // A cluster blip: drop the entry, or the head check would keep joining (and so keep generating
                        // on) a channel nobody here receives, forever. The caller's stream fails and its client resumes.
                        if (entry.Sinks.Count == 0)
                        {
                            entry.Closed = true;
                            Remove(entry);
                        }
                        throw;
                    }
                }
                entry.Add(sink);
                return new Membership(this, entry, sink, head);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
    }

    /// <summary>The channel's open entry, made (with a join slot) if there is none.</summary>
    private HubChannel Entry(string channel)
    {
        while (true)
        {
            if (_channels.TryGetValue(channel, out var entry)) return entry;
            var made = _slots.Make(channel);
            if (_channels.TryAdd(channel, made)) return made;
            _slots.Release(made); // another call made it first
        }
    }

    private void Remove(HubChannel entry)
    {
        _channels.TryRemove(new KeyValuePair<string, HubChannel>(entry.Name, entry));
        _slots.Release(entry);
    }

    private async Task LeaveAsync(HubChannel entry, IChannelSink sink)
    {
        await entry.Gate.WaitAsync();
        try
        {
            if (!entry.Remove(sink) || !entry.Joined) return;
            entry.Closed = true;
            Remove(entry);
            // Draining, the whole gateway goes: its joins run out with their lease instead of costing the drain a call each.
            if (drain.IsDraining) return;
            try
            {
                await cluster.Grain<IChannelGrain>(entry.Name).Leave(Route.GatewayId, entry.JoinId).WaitAsync(_options.DrainTimeout);
            }
            catch (Exception ex)
            {
                // The cluster may be unreachable. The join would last as long as this gateway: the head check tries again.
                logger.LogWarning("Leaving channel {Channel} failed ({Error}); the head check tries again", entry.Name, ex.Message);
                _failedLeaves.Enqueue((entry.Name, entry.JoinId));
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private readonly ConcurrentQueue<(string Channel, long Join)> _failedLeaves = new();

    /// <summary>
    /// Leaves that failed, tried again (by the head check's round): at most 64 a round, in parallel, so that a backlog
    /// (a silo dying while many clients leave) cannot hold up the rounds that renew this gateway's directory lease.
    /// Those failing again wait for the next round.
    /// </summary>
    public async Task RetryLeavesAsync(CancellationToken cancellationToken)
    {
        var batch = new List<(string Channel, long Join)>();
        while (batch.Count < 64 && _failedLeaves.TryDequeue(out var leave)) batch.Add(leave);
        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (leave, _) =>
        {
            try
            {
                await cluster.Grain<IChannelGrain>(leave.Channel).Leave(Route.GatewayId, leave.Join).WaitAsync(CallTimeout, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogDebug(ex, "Leaving channel {Channel} failed again", leave.Channel);
                _failedLeaves.Enqueue(leave);
            }
        });
    }

    /// <summary>The stream provider could not deliver on one of this gateway's delivery streams (failed or timed out).</summary>
    private Task OnDeliveryErrorAsync(uint shard, Exception error)
    {
        CheckStream(shard, error.Message);
        return Task.CompletedTask;
    }

    /// <summary>
    /// What delivery stream <paramref name="shard"/> carried may be lost: every channel on it is checked at the head
    /// check's next round, and fills what it lacks from history. Nothing else would notice if it was a channel's last
    /// message for a while.
    /// </summary>
    private void CheckStream(uint shard, string why)
    {
        var marked = 0;
        foreach (var entry in _channels.Values)
        {
            if (DeliveryStreams.Shard(Route, entry.Name) != shard) continue;
            entry.CheckDue = true;
            Interlocked.MemoryBarrier(); // as in Heard
            Watch(entry);
            marked++;
        }
        logger.LogWarning("Delivery stream {Shard} may have lost batches ({Why}): checking its {Count} channels", shard, why, marked);
    }

    private Task OnDeliveryAsync(DeliveryBatch batch, StreamSequenceToken? token)
    {
        OnDelivery(batch);
        return Task.CompletedTask;
    }

    private void OnDelivery(DeliveryBatch batch)
    {
        // A batch is one channel's, found by the join it was sent for, or else (a join the grain has not seen yet, or a
        // silo that names none) by name; a channel no longer here (left a moment ago) is simply not delivered.
        if (batch.Messages.Length == 0) return;
        var entry = _slots.Find(batch.Join);
        if (entry is null && !_channels.TryGetValue(batch.Messages[0].Channel, out entry)) return;
        Heard(entry);
        entry.Saw(batch.Messages[^1].Epoch, batch.Messages[^1].Offset, replace: false);
        foreach (var message in batch.Messages) entry.Deliver(message);
    }

    /// <summary>A channel with local subscribers.</summary>
    public sealed class HubChannel(string name, long joinId, int slot)
    {
        // Null, the one sink (a client's own channel), or an array of two or more: a live message then reads one field of
        // this entry and goes to its sink, where an array (or a lock object) was one more cold cache line per message.
        private object? _sinks;

        public string Name { get; } = name;
        /// <summary>Names this entry's join at the grain. Ids grow, so a late call of an earlier entry (its Leave, or its head
        /// check's Join) cannot undo a newer entry's join. Its low bits are <see cref="Slot"/> (<see cref="JoinSlots"/>).</summary>
        public long JoinId { get; } = joinId;
        /// <summary>Where <see cref="JoinSlots"/> finds it by join id (-1: nowhere; found by name).</summary>
        public int Slot { get; } = slot;
        /// <summary>The newest session fence among the local subscribers (a client's own channel: its one session).</summary>
        internal long Fence => Sinks.Select(s => s.Fence).DefaultIfEmpty().Max();
        internal SemaphoreSlim Gate { get; } = new(1, 1);
        internal bool Joined { get; set; }
        /// <summary>Its delivery stream reported an error: the next round checks it.</summary>
        internal volatile bool CheckDue;
        /// <summary>1 while the head check watches it (queued, or kept for news it has not checked yet).</summary>
        internal int Watched;
        internal bool Closed { get; set; }
        public IReadOnlyList<IChannelSink> Sinks => Volatile.Read(ref _sinks) switch
        {
            IChannelSink one => [one],
            IChannelSink[] many => many,
            _ => [],
        };

        /// <summary>
        /// When (Environment.TickCount64) this channel last showed news: a live message, or a head check that found more.
        /// A new channel has none: its joiner just read the head, and what follows arrives live.
        /// </summary>
        internal long HeardAt = long.MinValue / 2;
        private long _checkedHeardAt = long.MinValue / 2; // the news the last tail check was for

        /// <summary>
        /// News since the last tail check, and none since <paramref name="quietSince"/>: due for a check (the head check's
        /// round, one at a time). A channel that keeps getting messages is not: its next message shows a hole.
        /// </summary>
        internal bool WentQuiet(long quietSince)
        {
            var heard = Volatile.Read(ref HeardAt);
            if (heard <= _checkedHeardAt || heard >= quietSince) return false;
            _checkedHeardAt = heard;
            return true;
        }

        /// <summary>News the head check has not checked yet (it may still be too recent to be quiet).</summary>
        internal bool HasUncheckedNews => Volatile.Read(ref HeardAt) > _checkedHeardAt;

        // The newest position seen, as its parts: a live message must not store a new object here (a position and its
        // epoch string, freshly deserialized, per message), or every channel's would survive each gen0 collection.
        // Guarded by this entry's own monitor (lock (this)), not a lock object of its own: that was a cold line per message.
        private string? _seenEpoch;
        private ulong _seenOffset;

        /// <summary>
        /// The newest position seen here, live or by a head check (null: none yet). Offsets the grain stored once: if
        /// its log later holds less in the same epoch, storage lost them (<see cref="IChannelGrain.Join"/>).
        /// </summary>
        internal ChannelPosition? Seen
        {
            get
            {
                lock (this) return _seenEpoch is null ? null : new ChannelPosition(_seenOffset, _seenEpoch);
            }
        }

        /// <summary>Records a position: a newer offset, another epoch, or (<paramref name="replace"/>) the grain's own head.</summary>
        internal void Saw(string epoch, ulong offset, bool replace)
        {
            lock (this)
            {
                var sameEpoch = _seenEpoch == epoch;
                if (!replace && sameEpoch && offset <= _seenOffset) return;
                if (!sameEpoch) _seenEpoch = epoch; // an equal epoch keeps the string already held
                _seenOffset = offset;
            }
        }

        internal void Add(IChannelSink sink) => Set([.. Sinks, sink]);

        /// <summary>True when the last sink left.</summary>
        internal bool Remove(IChannelSink sink)
        {
            var left = Sinks.Where(s => !ReferenceEquals(s, sink)).ToArray();
            Set(left);
            return left.Length == 0;
        }

        private void Set(IChannelSink[] sinks) => Volatile.Write(ref _sinks, sinks.Length switch { 0 => null, 1 => sinks[0], _ => sinks });

        internal void Deliver(ChannelMessage message)
        {
            switch (Volatile.Read(ref _sinks))
            {
                case IChannelSink one:
                    one.Offer(message, null);
                    break;
                case IChannelSink[] many:
                    var encoded = EncodedResponses.Encode(message);
                    foreach (var sink in many) sink.Offer(message, encoded);
                    break;
            }
        }
    }

    /// <summary>One sink's place in a channel; <see cref="Head"/>: the head when this join was the gateway's first.</summary>
    public sealed class Membership(ChannelHub hub, HubChannel entry, IChannelSink sink, ChannelHead? head) : IAsyncDisposable
    {
        private int _disposed;

        public ChannelHead? Head { get; } = head;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? new ValueTask(hub.LeaveAsync(entry, sink)) : ValueTask.CompletedTask;
    }
}
