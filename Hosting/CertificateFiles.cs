using System.Security.Cryptography.X509Certificates;

namespace LongLived.Hosting;

/// <summary>
/// A certificate from files, as operators have them: PEM (+ key file) or PKCS#12. The settings both TLS sections share
/// (Gateway:Tls, Orleans:Tls).
/// </summary>
public abstract class CertificateFiles
{
    /// <summary>A PEM certificate (with <see cref="KeyPath"/>) or a PKCS#12 (.pfx/.p12) file; empty: TLS off.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key; empty when the key is in the certificate file.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    /// <summary>The configured certificate, or null when none is.</summary>
    public X509Certificate2? LoadCertificate()
    {
        if (!Enabled) return null;
        var key = string.IsNullOrWhiteSpace(KeyPath) ? null : KeyPath;
        if (Path.GetExtension(CertificatePath!).ToLowerInvariant() is ".pfx" or ".p12") return X509CertificateLoader.LoadPkcs12FromFile(CertificatePath!, Password);
        return string.IsNullOrEmpty(Password)
            ? X509Certificate2.CreateFromPemFile(CertificatePath!, key)
            : X509Certificate2.CreateFromEncryptedPemFile(CertificatePath!, Password, key);
    }
}
