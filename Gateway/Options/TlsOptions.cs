using LongLived.Hosting;

namespace LongLived.Gateway.Options;

/// <summary>
/// Section "Gateway:Tls": a certificate for the public gRPC port (HTTP/2 over TLS, ALPN h2). Without one the port
/// speaks h2c (cleartext, prior knowledge), the local default.
/// </summary>
internal sealed class TlsOptions : CertificateFiles
{
    public const string Section = "Gateway:Tls";

    /// <summary>
    /// The admin port (metrics, drain; the admin token travels on it) serves HTTPS with the same certificate. False:
    /// plain HTTP there (a private network, a scraper without TLS).
    /// </summary>
    public bool AdminPort { get; set; } = true;
}
