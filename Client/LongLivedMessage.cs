namespace LongLived.Client;

/// <summary>One message of a channel, as a subscription hands it over.</summary>
/// <param name="Channel">The channel: <c>client/&lt;id&gt;</c> for the client's own channel, else the topic.</param>
/// <param name="Offset">1-based, per channel, without holes within one epoch.</param>
/// <param name="Epoch">The epoch this offset belongs to: a channel starts a new one when its offsets restart from 1.</param>
/// <param name="Data">The payload.</param>
/// <param name="PublishedAt">When the channel appended it.</param>
/// <param name="Unrecoverable">True on the first message after a break the gateway could not fill: messages of this
/// channel before this one are lost to this client (see <see cref="LongLivedClient.ChannelReset"/>).</param>
public sealed record LongLivedMessage(string Channel, ulong Offset, string Epoch, string Data, DateTimeOffset PublishedAt, bool Unrecoverable)
{
    /// <summary>Where a client stands after taking this message.</summary>
    public ChannelPosition Position => new(Offset, Epoch);
}

/// <summary>The last offset a client took in a channel, in the epoch it came with. Offset 0: nothing yet.</summary>
/// <param name="Offset">The last offset taken.</param>
/// <param name="Epoch">The epoch of that offset.</param>
public sealed record ChannelPosition(ulong Offset, string Epoch);

/// <summary>What <see cref="LongLivedClient.PublishAsync"/> appended.</summary>
/// <param name="Offset">The message's offset in the topic.</param>
/// <param name="Epoch">The topic's epoch.</param>
/// <param name="PublishedAt">When the topic appended it.</param>
public sealed record PublishResult(ulong Offset, string Epoch, DateTimeOffset PublishedAt);
