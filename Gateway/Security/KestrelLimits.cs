using LongLived.Gateway.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LongLived.Gateway.Security;

/// <summary>
/// Kestrel's limits on the public port, chosen rather than inherited; each can be changed under the usual
/// Kestrel:Limits keys (e.g. --Kestrel:Limits:Http2:InitialStreamWindowSize=262144).
/// </summary>
public static class KestrelLimits
{
    public static void Apply(KestrelServerLimits limits, IConfiguration config, GatewayOptions gateway)
    {
        // Requests are small (an id, topics, positions, a bearer token): 32 KB of headers, 16 KB per field, are ample.
        limits.MaxRequestHeadersTotalSize = config.GetValue("MaxRequestHeadersTotalSize", 32 * 1024);
        limits.Http2.MaxRequestHeaderFieldSize = config.GetValue("Http2:MaxRequestHeaderFieldSize", 16 * 1024);
        limits.Http2.HeaderTableSize = config.GetValue("Http2:HeaderTableSize", 4096);
        limits.Http2.MaxFrameSize = config.GetValue("Http2:MaxFrameSize", 16 * 1024);
        // Thousands of streams share one connection (Kestrel's default of 100 would queue the 101st subscriber); what a
        // client may make the gateway buffer of request bodies is the connection window, 1 MB, not streams × window.
        limits.Http2.MaxStreamsPerConnection = config.GetValue("Http2:MaxStreamsPerConnection", gateway.MaxStreamsPerConnection);
        limits.Http2.InitialConnectionWindowSize = config.GetValue("Http2:InitialConnectionWindowSize", 1024 * 1024);
        limits.Http2.InitialStreamWindowSize = config.GetValue("Http2:InitialStreamWindowSize", 128 * 1024);
        limits.MaxConcurrentConnections = config.GetValue<long?>("MaxConcurrentConnections");
        // Detect half-open connections under idle streams.
        limits.Http2.KeepAlivePingDelay = config.GetValue("Http2:KeepAlivePingDelay", TimeSpan.FromSeconds(30));
        limits.Http2.KeepAlivePingTimeout = config.GetValue("Http2:KeepAlivePingTimeout", TimeSpan.FromSeconds(20));
    }
}
