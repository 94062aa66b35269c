namespace LongLived.Gateway.Options;

/// <summary>
/// Section "Gateway:Tls": a certificate for the public gRPC port (HTTP/2 over TLS, ALPN h2). Without one the port
/// speaks h2c (cleartext, prior knowledge), the local default.
/// </summary>
internal sealed class TlsOptions : CertificateFiles
{
    public const string Section = "Gateway:Tls";
}
