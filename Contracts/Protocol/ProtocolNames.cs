namespace LongLived.Contracts;

/// <summary>
/// The names the protocol uses besides longlived.proto's messages: a Subscribe's response headers and the own channel's
/// name. Compiled, like the proto, into Contracts (public, by <c>ProtocolNames.Public.cs</c>) and into LongLived.Client
/// (internal), so the gateway and the client library read one definition.
/// </summary>
static partial class ProtocolNames
{
    /// <summary>Response header of a Subscribe: the gateway's id for the session.</summary>
    public const string SessionHeader = "ll-session";

    /// <summary>Response header: the channels that came with a position and resume from it (URL-encoded names, comma-separated).</summary>
    public const string RecoveredHeader = "ll-resume-recovered";

    /// <summary>Response header: the channels whose position could not be honoured (their first message is marked unrecoverable).</summary>
    public const string UnrecoverableHeader = "ll-resume-unrecoverable";

    /// <summary>A client's own channel is this prefix and the client id; topic names cannot contain '/', so they never collide with it.</summary>
    public const string OwnChannelPrefix = "client/";
}
