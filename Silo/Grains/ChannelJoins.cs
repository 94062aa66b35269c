using LongLived.Contracts.Grains;
using LongLived.Streams;
using Orleans.Streams;

namespace LongLived.Silo.Grains;

/// <summary>
/// The gateways that joined one channel activation, and the fan-out to them: each stored batch goes once to every
/// joined gateway, on its delivery stream for this channel. Joins are not stored. A join lasts while its gateway is in
/// the gateway directory (<see cref="LiveGateways"/>: renewed per gateway, not per channel), or else until its own lease
/// runs out; a gateway the directory drops (it died without leaving) is dropped here when the silo says so. While a
/// gateway is joined the activation is kept from collection (idle, it gets no calls). Join ids only grow per gateway,
/// so a late call (a head check in flight when its entry closed) changes nothing.
/// </summary>
internal sealed class ChannelJoins(ChannelGrain owner)
{
    // The grain's services, reached through it rather than kept here: six references per channel (memory per client).
    private string Channel => owner.ChannelName;
    private DeliveryQueues Queues => owner.DeliveryQueues;
    private LiveGateways Live => owner.LiveGateways;
    private GatewayNotices Notices => owner.Notices;
    private TimeProvider Time => owner.Time;
    private ILogger Logger => owner.Logger;

    /// <summary>How long a left join is remembered: a late join of it can still arrive (Orleans drops a call older than its response timeout).</summary>
    private static readonly TimeSpan LateCallWindow = TimeSpan.FromMinutes(2);

    private static readonly ThrottledLog SendFailures = new(TimeSpan.FromSeconds(10));

    // An array, searched and replaced when a join comes or goes: a client's own channel has one gateway and a topic one per
    // gateway. A dictionary of one entry costs three times the memory (memory per client), and a list is one more object
    // (a cold line per delivered message).
    private Joined[] _gateways = [];
    private Dictionary<string, (long Join, DateTimeOffset Until)>? _left; // the newest join each gateway left; made at the first Leave (memory per client)
    // Gateways that joined this activation: the first one alone (a client's own channel has one), a set from the second
    // on (memory per client).
    private string? _firstJoinedHere;
    private HashSet<string>? _joinedHere;
    private bool _keptActive;
    private FailedSends? _failedSends; // made at the first failed send (memory per client)
    private long _expiryCheckDue; // when a delivery next drops expired joins (Environment.TickCount64)
    private const long ExpiryCheckMs = 10_000;

    public IEnumerable<string> GatewayIds => _gateways.Select(g => g.Route.GatewayId);
    public bool Any => _gateways.Length > 0;

    /// <summary>Whether a gateway is joined, once joins whose lease ran out are dropped.</summary>
    public bool AnyLive()
    {
        DropExpired();
        return Any;
    }

    /// <summary>Records that <paramref name="gatewayId"/> joined this activation; false if it had before.</summary>
    public bool FirstJoinHere(string gatewayId)
    {
        if (_firstJoinedHere is null)
        {
            _firstJoinedHere = gatewayId;
            return true;
        }
        return _firstJoinedHere != gatewayId && (_joinedHere ??= new(StringComparer.Ordinal)).Add(gatewayId);
    }

    /// <summary>A join the gateway has since replaced or left.</summary>
    public bool IsStale(string gatewayId, long join) =>
        Find(gatewayId) is { } newer && newer.Join > join || (_left?.GetValueOrDefault(gatewayId).Join ?? 0) >= join;

    /// <summary>Adds or renews the join of <paramref name="gateway"/>; <paramref name="only"/>: it replaces every other gateway's.</summary>
    public void Add(GatewayRoute gateway, TimeSpan lease, long join, bool only)
    {
        var expires = Time.GetUtcNow() + lease;
        for (var i = _gateways.Length - 1; i >= 0; i--)
        {
            var other = _gateways[i];
            if (other.Route.GatewayId != gateway.GatewayId ? only : other.Route != gateway) RemoveAt(i);
        }
        if (Find(gateway.GatewayId) is { } joined)
        {
            joined.Expires = expires;
            joined.Join = join;
        }
        else
        {
            _gateways = [.. _gateways, joined = new Joined(this, gateway, Queues.Stream(gateway, Channel)) { Expires = expires, Join = join }];
        }
        joined.RenewedAt = Time.GetUtcNow();
        Live.Joined(gateway.GatewayId, Channel);
        Changed();
    }

    /// <summary>Ends the join <paramref name="join"/> of a gateway, or an older one; a newer join stays.</summary>
    public void Leave(string gatewayId, long join)
    {
        if (Find(gatewayId) is { } joined)
        {
            if (joined.Join > join) return;
            RemoveAt(Array.IndexOf(_gateways, joined));
        }
        _left ??= new(StringComparer.Ordinal);
        _left[gatewayId] = (Math.Max(join, _left.GetValueOrDefault(gatewayId).Join), Time.GetUtcNow() + LateCallWindow);
    }

    /// <summary>The directory dropped the gateway: its join ends unless renewed since <paramref name="notRenewedSince"/> (it came back).</summary>
    public void GatewayGone(string gatewayId, DateTimeOffset notRenewedSince)
    {
        if (Find(gatewayId) is not { } joined) return;
        if (joined.RenewedAt >= notRenewedSince || Live.IsLive(gatewayId))
        {
            Live.Joined(gatewayId, Channel); // renewed meanwhile: the silo dropped the gateway's list with it, so watch it again
            return;
        }
        Logger.LogInformation("Channel {Channel}: gateway {Gateway} left the gateway directory; no longer sending to it", Channel, gatewayId);
        RemoveAt(Array.IndexOf(_gateways, joined));
    }

    /// <summary>The activation ends: its joins are no longer this silo's to watch.</summary>
    public void Clear()
    {
        foreach (var joined in _gateways) Live.Left(joined.Route.GatewayId, Channel);
        _gateways = [];
    }

    /// <summary>Forgets joins whose lease ran out while their gateway is not in the directory, and left joins past the late-call window.</summary>
    public void DropExpired()
    {
        var now = Time.GetUtcNow();
        if (_left is not null)
        {
            foreach (var (id, _) in _left.Where(l => l.Value.Until < now).ToArray()) _left.Remove(id);
        }
        for (var i = _gateways.Length - 1; i >= 0; i--)
        {
            if (_gateways[i].Expires >= now || Live.IsLive(_gateways[i].Route.GatewayId)) continue;
            Logger.LogInformation("Channel {Channel}: gateway {Gateway} is not in the gateway directory and did not renew its join; no longer sending to it", Channel, _gateways[i].Route.GatewayId);
            RemoveAt(i);
        }
    }

    private void RemoveAt(int index)
    {
        Live.Left(_gateways[index].Route.GatewayId, Channel);
        _gateways = [.. _gateways[..index], .. _gateways[(index + 1)..]];
        Changed();
    }

    /// <summary>Keeps the activation from collection while a gateway is joined: it gets no calls while idle.</summary>
    private void Changed()
    {
        if (Any == _keptActive) return;
        _keptActive = Any;
        owner.KeepActive(_keptActive);
    }

    private Joined? Find(string gatewayId)
    {
        foreach (var joined in _gateways)
        {
            if (joined.Route.GatewayId == gatewayId) return joined;
        }
        return null;
    }

    /// <summary>
    /// Queues the batch to each joined gateway, once; a gateway whose lease ran out (it died without leaving) is dropped.
    /// Not awaited: the stream queue's outbox sends a channel's batches in the order they were queued, and tells the join
    /// when a send fails (<see cref="Joined.SendFailed"/>, on whatever thread finds out).
    /// </summary>
    public void Deliver(ChannelMessage[] messages)
    {
        if (_gateways.Length == 0) return;
        // Not per message: the directory tells the silo when a gateway goes (GatewayGone), and this check, a clock read and
        // a directory lookup, was 3.6 % of a silo at 10,000 channels × 1 msg/s. A dead gateway gets at most 10 s more sends.
        var ticks = Environment.TickCount64;
        if (ticks >= _expiryCheckDue)
        {
            _expiryCheckDue = ticks + ExpiryCheckMs;
            DropExpired();
        }
        foreach (var joined in _gateways)
        {
            try
            {
                Queues.Send(joined.Route, joined.Stream, new DeliveryBatch(messages, joined.Join), joined);
            }
            catch (Exception ex)
            {
                SendFailed(ex, joined.Route.GatewayId);
            }
        }
    }

    /// <summary>Called on any thread (<see cref="ISendObserver"/>), hence <see cref="FailedSends"/>' lock.</summary>
    private void SendFailed(Exception ex, string gatewayId)
    {
        // The stream is only the fast path: the gateway is told to look at the head and fill what it lacks from history
        // (this may have been the channel's last message for a while: no later one would show the hole).
        // When one fails, thousands of channels' sends fail alike: one warning per interval says so.
        var failedSends = Volatile.Read(ref _failedSends) ?? Interlocked.CompareExchange(ref _failedSends, new FailedSends(Channel, Notices), null) ?? _failedSends;
        failedSends.Failed(gatewayId);
        if (!SendFailures.ShouldLog(out var more)) return;
        Logger.LogWarning(ex, "Channel {Channel}: a send to gateway {Gateway} failed, and {More} more sends (any channel, any gateway) since the last report; each such gateway is told to fill what it missed from history",
            Channel, gatewayId, more);
    }

    /// <summary>A gateway's join; told when a send to it fails.</summary>
    private sealed class Joined(ChannelJoins joins, GatewayRoute route, StreamId stream) : ISendObserver
    {
        public void SendFailed(Exception error) => joins.SendFailed(error, Route.GatewayId);

        public GatewayRoute Route { get; } = route;
        public StreamId Stream { get; } = stream;
        public DateTimeOffset Expires { get; set; }
        /// <summary>When the gateway last joined or renewed (this silo's clock).</summary>
        public DateTimeOffset RenewedAt { get; set; }
        /// <summary>The gateway's entry this join is for (see <see cref="IChannelGrain.Join"/>).</summary>
        public long Join { get; set; }
    }
}
