using System.Runtime.CompilerServices;
using Google.Protobuf;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Delivery;

/// <summary>
/// Encode once: a live message of a channel with several local subscribers is one <see cref="Response"/> for all of
/// them (<see cref="Encode"/>, made by the delivery), serialized once; the Subscribe method's marshaller
/// (<see cref="Services.LonglivedBinding"/>) writes these bytes instead of serializing per call. The table holds an
/// entry only while its response is referenced (in some subscriber's buffer). A channel with one local subscriber (a
/// client's own) is serialized by the call as usual: sharing would cost a table entry and a copy for nothing.
/// </summary>
public static class EncodedResponses
{
    private static readonly ConditionalWeakTable<Response, byte[]> Bytes = new();

    /// <summary>A response for <paramref name="message"/> to share between calls (not <see cref="Response.Unrecoverable"/>), encoded.</summary>
    public static Response Encode(ChannelMessage message)
    {
        var response = ToResponse(message, unrecoverable: false);
        Bytes.AddOrUpdate(response, response.ToByteArray());
        return response;
    }

    public static Response ToResponse(ChannelMessage message, bool unrecoverable) => new()
    {
        Data = message.Data,
        Channel = message.Channel,
        Offset = message.Offset,
        Epoch = message.Epoch,
        PublishTimeUnixMs = message.PublishedUnixMs,
        Unrecoverable = unrecoverable,
    };

    public static bool TryGetBytes(Response response, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out byte[] bytes) => Bytes.TryGetValue(response, out bytes);
}
