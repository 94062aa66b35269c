using System.Net;

namespace LongLived.Emulator;

/// <summary>
/// Parses --addr: the original's <c>static::7071,:7072,:7073</c> (a bare <c>:port</c> is 127.0.0.1),
/// <c>static:///host:port,host:port</c>, a plain <c>http://host:port</c> or <c>https://host:port</c>, or a bare
/// <c>host:port</c> list. TLS: an https:// address, or --tls with any form.
/// </summary>
public static class AddressParser
{
    public static IReadOnlyList<DnsEndPoint> Parse(string address)
    {
        if (string.IsNullOrWhiteSpace(address)) throw new FormatException("address is empty");
        var list = address.Trim();
        if (list.StartsWith("static:", StringComparison.OrdinalIgnoreCase)) list = list["static:".Length..].TrimStart('/');
        else if (IsTls(list)) list = list["https://".Length..].TrimEnd('/');
        else if (list.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) list = list["http://".Length..].TrimEnd('/');

        var endpoints = new List<DnsEndPoint>();
        foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = raw.LastIndexOf(':');
            if (colon < 0 || !int.TryParse(raw[(colon + 1)..], out var port) || port is <= 0 or > 65535)
            {
                throw new FormatException($"\"{raw}\" is not host:port or :port");
            }
            var host = raw[..colon].Trim('[', ']');
            // A bare :port is the IPv4 loopback, not "localhost": that name has two addresses (::1 and 127.0.0.1), and
            // a gateway published on one of them only (docker's 127.0.0.1:7071:7071) left Grpc.Net.Client picking the
            // dead subchannel of a killed gateway for tens of seconds (tests/docker/e2e.sh: resume p99 24 s vs 1 s).
            endpoints.Add(new DnsEndPoint(host.Length == 0 ? "127.0.0.1" : host, port));
        }
        if (endpoints.Count == 0) throw new FormatException($"no address in \"{address}\"");
        return endpoints;
    }

    public static bool IsTls(string address) => address.TrimStart().StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
