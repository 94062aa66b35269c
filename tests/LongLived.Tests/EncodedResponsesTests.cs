using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Delivery;

namespace LongLived.Tests;

/// <summary>Encode once: every subscriber of a live message gets one shared response, serialized once, bytes that parse back to it.</summary>
public sealed class EncodedResponsesTests
{
    [Fact]
    public void A_shared_live_message_is_encoded_once_and_an_unrecoverable_one_is_its_own()
    {
        var message = new ChannelMessage("news", 7, "e1", "hello", 1234);
        var first = EncodedResponses.Encode(message);
        Assert.True(EncodedResponses.TryGetBytes(first, out var bytes));
        Assert.Equal(new Response { Data = "hello", Channel = "news", Offset = 7, Epoch = "e1", PublishTimeUnixMs = 1234 }, Response.Parser.ParseFrom(bytes));

        var flagged = EncodedResponses.ToResponse(message, unrecoverable: true);
        Assert.True(flagged.Unrecoverable);
        Assert.False(EncodedResponses.TryGetBytes(flagged, out _)); // serialized by grpc-dotnet as usual, with its flag
    }
}
