using LongLived.Contracts;

namespace LongLived.Client;

/// <summary>The channel names a client sees in <see cref="LongLivedMessage.Channel"/>.</summary>
public static class ChannelNames
{
    /// <summary>The own channel of <paramref name="clientId"/>: <c>client/&lt;id&gt;</c>.</summary>
    public static string OwnChannel(string clientId) => ProtocolNames.OwnChannelPrefix + clientId;
}
