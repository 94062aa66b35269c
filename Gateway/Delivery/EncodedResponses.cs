using System.Runtime.CompilerServices;
using Google.Protobuf;
using LongLived.Contracts;
using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Delivery;

/// <summary>
/// Encode once: a live message reaches every local subscriber of its channel as the same <see cref="ChannelMessage"/>,
/// so each gets the same <see cref="Response"/>, serialized once; the Subscribe method's marshaller
/// (<see cref="Services.LonglivedBinding"/>) writes these bytes instead of serializing per call. Both tables hold their
/// entries only while the message is referenced (in some subscriber's buffer).
/// </summary>
public static class EncodedResponses
{
    private static readonly ConditionalWeakTable<ChannelMessage, Response> Shared = new();
    private static readonly ConditionalWeakTable<Response, byte[]> Bytes = new();

    /// <summary>The one encoded response for <paramref name="message"/> (not <see cref="Response.Unrecoverable"/>).</summary>
    public static Response For(ChannelMessage message) => Shared.GetValue(message, static m =>
    {
        var response = ToResponse(m, unrecoverable: false);
        Bytes.AddOrUpdate(response, response.ToByteArray());
        return response;
    });

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
