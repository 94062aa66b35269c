using System.Text;
using Grpc.Core;
using LongLived.Contracts;
using Request = LongLived.Contracts.Request;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;

namespace LongLived.Gateway.Services;

/// <summary>Rejects bad input with INVALID_ARGUMENT and a message that says what is wrong, before any grain is touched.</summary>
public static class RequestValidator
{
    /// <summary>Epochs the channel grains make are 12 characters; this leaves room without letting a client send megabytes.</summary>
    public const int MaxEpochLength = 64;

    /// <summary>The client's own channel first, then the topics, without duplicates.</summary>
    public static IReadOnlyList<string> SubscribeChannels(Request request, GatewayOptions options)
    {
        ClientId(request.Id, options);
        if (request.Topics.Count > options.MaxTopics) throw Invalid($"too many topics: {request.Topics.Count} (at most {options.MaxTopics})");
        var channels = new List<string> { ChannelNames.ForClient(request.Id) };
        foreach (var topic in request.Topics)
        {
            Topic(topic);
            if (!channels.Contains(topic)) channels.Add(topic);
        }
        Positions(request, channels);
        if (Encoding.UTF8.GetByteCount(request.ClientInstance) > MaxClientInstanceLength)
        {
            throw Invalid($"client_instance is longer than {MaxClientInstanceLength} bytes");
        }
        return channels;
    }

    /// <summary>A UUID is 36 characters: room for any sensible instance name, not for megabytes kept per client.</summary>
    public const int MaxClientInstanceLength = 64;

    public static void ClientId(string id, GatewayOptions options)
    {
        if (string.IsNullOrEmpty(id)) throw Invalid("id is required");
        var bytes = Encoding.UTF8.GetByteCount(id);
        if (bytes > options.MaxIdLength) throw Invalid($"id is {bytes} bytes long (at most {options.MaxIdLength})");
        if (id.Any(char.IsControl)) throw Invalid("id contains control characters");
    }

    /// <summary>NotifyReceived: at most one position per channel a Subscribe may join (which ones: the client grain checks).</summary>
    public static void Acknowledgement(Request request, GatewayOptions options)
    {
        ClientId(request.Id, options);
        if (request.Positions.Count > options.MaxTopics + 1) throw Invalid($"too many positions: {request.Positions.Count} (at most {options.MaxTopics + 1})");
        Positions(request, channels: null);
        // An acknowledged offset without its epoch cannot be resumed from (IChannelGrain.Read): refuse it here.
        if (request.Positions.FirstOrDefault(p => p.Value.Epoch.Length == 0) is { Key: not null } bare)
        {
            throw Invalid($"position for channel \"{ChannelNames.Shorten(bare.Key)}\" has no epoch: send back the epoch the message carried");
        }
    }

    public static void Topic(string topic)
    {
        if (!ChannelNames.IsValidTopic(topic))
        {
            throw Invalid($"invalid topic name \"{ChannelNames.Shorten(topic)}\": use 1..{ChannelNames.MaxTopicLength} characters of [A-Za-z0-9_.:-], starting with a letter or digit");
        }
    }

    public static void Publish(PublishRequest request, GatewayOptions options)
    {
        Topic(request.Channel);
        var bytes = Encoding.UTF8.GetByteCount(request.Data);
        if (bytes > options.MaxPublishBytes) throw Invalid($"data is {bytes} bytes (at most {options.MaxPublishBytes})");
        if (request.IdempotencyKey.Length > 256) throw Invalid("idempotency_key is longer than 256 characters");
    }

    /// <summary>
    /// No empty position; and with <paramref name="channels"/>, positions only for those (a typo must not pass as
    /// "nothing to resume").
    /// </summary>
    public static void Positions(Request request, IReadOnlyList<string>? channels)
    {
        foreach (var (channel, position) in request.Positions)
        {
            if (channels is not null && !channels.Contains(channel)) throw Invalid($"position for channel \"{ChannelNames.Shorten(channel)}\", which this request does not subscribe to");
            if (position is null) throw Invalid($"position for channel \"{ChannelNames.Shorten(channel)}\" is empty");
            // Our epochs are hex; control characters cannot be one and would reach the logs raw (a NUL turns a log file binary).
            if (position.Epoch.Any(char.IsControl)) throw Invalid($"epoch of the position for channel \"{ChannelNames.Shorten(channel)}\" contains control characters: send back the epoch a message carried");
            if (position.Epoch.Length > MaxEpochLength) throw Invalid($"epoch of the position for channel \"{ChannelNames.Shorten(channel)}\" is {position.Epoch.Length} characters (at most {MaxEpochLength}): send back the epoch a message carried");
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
