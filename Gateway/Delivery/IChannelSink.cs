using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Delivery;

/// <summary>A local subscriber of a channel. Called on Orleans' delivery path: must never block.</summary>
public interface IChannelSink
{
    /// <summary>For a client's own channel, the fence of the session (0 until known, and for other sinks).</summary>
    long Fence { get; }

    void Offer(ChannelMessage message);

    /// <summary>
    /// The channel's head as last read from its grain: anything up to it that was not delivered is missing. With
    /// <paramref name="restarted"/> the grain started a new activation that did not send to this gateway: fill up to it now.
    /// </summary>
    void OfferHead(string channel, ChannelHead head, bool restarted = false);
}
