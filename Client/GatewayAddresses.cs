using System.Net;

namespace LongLived.Client;

/// <summary>
/// Where the gateways are, parsed from one string:
/// <list type="bullet">
/// <item><c>static::7071,:7072,:7073</c> or <c>static:///host:port,host:port</c>: a fixed list, balanced round-robin
/// (a bare <c>:port</c> is 127.0.0.1); a bare <c>host:port,…</c> list is the same;</item>
/// <item><c>dns:///host:port</c>: every address the name resolves to, re-resolved by Grpc.Net.Client, round-robin;</item>
/// <item><c>http://host:port</c> or <c>https://host:port</c>: one gateway (https: TLS).</item>
/// </list>
/// </summary>
public sealed record GatewayAddresses
{
    private GatewayAddresses(string text, IReadOnlyList<DnsEndPoint> endpoints, string? dnsTarget, bool tls)
    {
        Text = text;
        Endpoints = endpoints;
        DnsTarget = dnsTarget;
        Tls = tls;
    }

    /// <summary>The string as given.</summary>
    public string Text { get; }

    /// <summary>The fixed gateway list (empty for <c>dns:///</c>).</summary>
    public IReadOnlyList<DnsEndPoint> Endpoints { get; }

    /// <summary>For <c>dns:///host:port</c>: that target; else null.</summary>
    public string? DnsTarget { get; }

    /// <summary>True for an https:// address.</summary>
    public bool Tls { get; }

    /// <summary>How many gateways the list names (1 for a DNS name, whose addresses are not known up front).</summary>
    public int Count => Math.Max(Endpoints.Count, 1);

    /// <summary>Parses <paramref name="address"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static GatewayAddresses Parse(string address)
    {
        if (string.IsNullOrWhiteSpace(address)) throw new FormatException("address is empty");
        var text = address.Trim();
        if (text.StartsWith("dns:", StringComparison.OrdinalIgnoreCase))
        {
            var target = text["dns:".Length..].TrimStart('/');
            if (target.Length == 0 || target.Contains(',')) throw new FormatException($"\"{address}\": dns:///host:port names one host");
            ParseEndpoint(target);
            return new GatewayAddresses(text, [], target, tls: false);
        }
        var tls = text.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        var list = text;
        if (list.StartsWith("static:", StringComparison.OrdinalIgnoreCase)) list = list["static:".Length..].TrimStart('/');
        else if (tls) list = list["https://".Length..].TrimEnd('/');
        else if (list.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) list = list["http://".Length..].TrimEnd('/');

        var endpoints = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseEndpoint).ToArray();
        if (endpoints.Length == 0) throw new FormatException($"no address in \"{address}\"");
        return new GatewayAddresses(text, endpoints, null, tls);
    }

    private static DnsEndPoint ParseEndpoint(string raw)
    {
        var colon = raw.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(raw[(colon + 1)..], out var port) || port is <= 0 or > 65535)
        {
            throw new FormatException($"\"{raw}\" is not host:port or :port");
        }
        var host = raw[..colon].Trim('[', ']');
        // A bare :port is the IPv4 loopback, not "localhost": that name has two addresses (::1 and 127.0.0.1), and a
        // gateway published on one of them only (docker's 127.0.0.1:7071:7071) kept a killed gateway's dead subchannel
        // in the round robin for tens of seconds (tests/docker/e2e.sh: resume p99 24 s vs 1 s).
        return new DnsEndPoint(host.Length == 0 ? "127.0.0.1" : host, port);
    }
}
