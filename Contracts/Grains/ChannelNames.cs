namespace LongLived.Contracts.Grains;

/// <summary>
/// Channel naming, shared by the gateway (validation) and the silo (generator).
/// A client's own channel is "client/&lt;id&gt;" (<see cref="ProtocolNames.OwnChannelPrefix"/>).
/// </summary>
public static class ChannelNames
{
    public const string ClientPrefix = ProtocolNames.OwnChannelPrefix;
    public const int MaxTopicLength = 128;

    public static string ForClient(string clientId) => ClientPrefix + clientId;

    public static bool TryGetClientId(string channel, out string clientId)
    {
        if (channel.StartsWith(ClientPrefix, StringComparison.Ordinal))
        {
            clientId = channel[ClientPrefix.Length..];
            return true;
        }
        clientId = "";
        return false;
    }

    /// <summary>A hash of a channel name that every process computes alike (string.GetHashCode differs per process): FNV-1a.</summary>
    public static uint Hash(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name) hash = (hash ^ c) * 16777619u;
        return hash;
    }

    /// <summary>A channel name as error messages quote it: at most 64 characters.</summary>
    public static string Shorten(string name) => name.Length <= 64 ? name : name[..64] + "…";

    /// <summary>Topics: [A-Za-z0-9][A-Za-z0-9_.:-]*, 1..128 characters.</summary>
    public static bool IsValidTopic(string name)
    {
        if (name.Length is 0 or > MaxTopicLength || !char.IsAsciiLetterOrDigit(name[0])) return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-')) return false;
        }
        return true;
    }
}
