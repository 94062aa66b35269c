using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Delivery;

/// <summary>A local subscriber of a channel. Called on Orleans' delivery path: must never block.</summary>
public interface IChannelSink
{
    /// <summary>For a client's own channel, the fence of the session (0 until known, and for other sinks).</summary>
    long Fence { get; }

    /// <summary>
    /// A live message; <paramref name="encoded"/>: its response, encoded once for every local subscriber of the channel
    /// (null when this sink is the only one: nothing to share).
    /// </summary>
    void Offer(ChannelMessage message, Response? encoded);

    /// <summary>
    /// The channel's head as last read from its grain: anything up to it that was not delivered is missing. With
    /// <paramref name="restarted"/> the grain started a new activation that did not send to this gateway: fill up to it now.
    /// </summary>
    void OfferHead(string channel, ChannelHead head, bool restarted = false);
}
