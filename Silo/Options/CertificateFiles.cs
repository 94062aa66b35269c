using System.Security.Cryptography.X509Certificates;

namespace LongLived;

/// <summary>A certificate from files, as operators have them: PEM (+ key file) or PKCS#12. Shared by silo and gateway.</summary>
internal static class CertificateFiles
{
    public static X509Certificate2 Load(string path, string? keyPath, string? password)
    {
        var key = string.IsNullOrWhiteSpace(keyPath) ? null : keyPath;
        if (Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12") return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        return string.IsNullOrEmpty(password)
            ? X509Certificate2.CreateFromPemFile(path, key)
            : X509Certificate2.CreateFromEncryptedPemFile(path, password, key);
    }
}
