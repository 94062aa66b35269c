namespace LongLived.Contracts.Grains;

/// <summary>The Orleans stream every channel publishes on: provider "channels", namespace "channel", key = channel name.</summary>
public static class StreamNames
{
    public const string Provider = "channels";
    public const string ChannelNamespace = "channel";
    /// <summary>Grain storage for channel and client state, and the pub-sub store streams need on silos.</summary>
    public const string ChannelStorage = "channels";
    public const string ClientStorage = "clients";
    public const string PubSubStore = "PubSubStore";
}
