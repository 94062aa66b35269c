namespace LongLived.Contracts.Grains;

/// <summary>
/// One channel (key = channel name): numbers messages 1, 2, 3 … without holes, keeps a bounded history, and
/// after storing each batch sends it once to every gateway that joined (see <see cref="DeliveryStreams"/>). A client
/// channel ("client/&lt;id&gt;") also runs the mock-data generator while subscribers keep renewing their lease.
/// </summary>
[Alias("ll.IChannelGrain")]
public interface IChannelGrain : IGrainWithStringKey
{
    /// <summary>Appends to the channel. A repeated non-empty <paramref name="idempotencyKey"/> still in history returns the original message.</summary>
    [Alias("Publish")]
    Task<ChannelMessage> Publish(string data, string? idempotencyKey);

    /// <summary>
    /// Messages after <paramref name="afterOffset"/> (at most <paramref name="max"/>) in epoch <paramref name="epoch"/>.
    /// A position without an epoch is recoverable only from offset 0 ("seen nothing"): an offset of an unknown
    /// epoch may belong to one that was lost, and must not pass as a match. Renews the subscriber lease.
    /// </summary>
    [Alias("Read")]
    Task<HistoryPage> Read(ulong afterOffset, string? epoch, int max);

    /// <summary>
    /// A gateway with local subscribers joins (or renews its join) for <paramref name="lease"/>: messages are sent to
    /// it until it leaves or the lease runs out. Renews the subscriber lease and returns the head.
    /// <paramref name="join"/> names this join (the gateway's entry for the channel; ids only grow per gateway): a
    /// <see cref="Leave"/> ends only that join or an older one, and a join older than one the gateway made or left since
    /// (a head check in flight when its entry closed) changes nothing, so late calls never undo newer ones. <paramref name="fence"/>: on a client's
    /// own channel, the fence of the session the join is for (0 for topics): the newest session's gateway replaces the
    /// others, and a join for an older session than the channel's owner changes nothing. <paramref name="seen"/>: the
    /// newest position the gateway has seen of this channel (null: none); past the stored head in the same epoch, storage
    /// lost what the gateway saw, and the channel starts a new epoch rather than hand those offsets out again.
    /// </summary>
    [Alias("Join")]
    Task<ChannelHead> Join(GatewayRoute gateway, TimeSpan lease, long join, long fence, ChannelPosition? seen);

    /// <summary>The gateway's last local subscriber left: ends the gateway's join unless it is newer than <paramref name="join"/>.</summary>
    [Alias("Leave")]
    Task Leave(string gatewayId, long join);

    /// <summary>
    /// The gateway directory no longer lists <paramref name="gatewayId"/> (it died, or could not renew): its joins not
    /// renewed since <paramref name="notRenewedSince"/> (this silo's clock) end. From the silo's own watch of the
    /// directory, not from gateways.
    /// </summary>
    [Alias("GatewayGone")]
    Task GatewayGone(string gatewayId, DateTimeOffset notRenewedSince);

    /// <summary>Renews the subscriber lease (keeps the generator running) and returns the head.</summary>
    [Alias("Touch")]
    Task<ChannelHead> Touch();

    /// <summary>The epoch and head, the owner and the joined gateways, for tests and operators.</summary>
    [Alias("GetSnapshot")]
    Task<ChannelSnapshot> GetSnapshot();
}
