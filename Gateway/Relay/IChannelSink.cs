using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Relay;

/// <summary>A local subscriber of a channel. Called on Orleans' delivery path: must never block.</summary>
public interface IChannelSink
{
    void Offer(ChannelMessage message);

    /// <summary>The channel's head as last read from its grain: anything up to it that was not delivered is missing.</summary>
    void OfferHead(string channel, ChannelHead head);
}
