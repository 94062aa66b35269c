using System.Security.Cryptography.X509Certificates;

namespace LongLived.Gateway.Options;

/// <summary>
/// Section "Gateway:Tls": a certificate for the public gRPC port (HTTP/2 over TLS, ALPN h2). Without one the port
/// speaks h2c (cleartext, prior knowledge), the local default.
/// </summary>
public sealed class TlsOptions
{
    public const string Section = "Gateway:Tls";

    /// <summary>A PEM certificate (with <see cref="KeyPath"/>) or a PKCS#12 (.pfx/.p12) file.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key; empty when the key is in the certificate file.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    public X509Certificate2? Load() => string.IsNullOrWhiteSpace(CertificatePath) ? null : CertificateFiles.Load(CertificatePath, KeyPath, Password);
}
