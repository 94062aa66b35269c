using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace LongLived.Hosting;

/// <summary>
/// Section "Orleans:Tls": mutual TLS between silos and from gateways to silos (Microsoft.Orleans.Connections.Security).
/// Every member presents a certificate signed by <see cref="CaPath"/> and accepts only peers whose certificate is:
/// membership is the CA's signature, not a host name (silos dial each other by IP). Off unless a certificate is set;
// read alike by the silo and the gateway.
/// </summary>
public sealed class ClusterTlsOptions : CertificateFiles
{
    public const string Section = "Orleans:Tls";

    /// <summary>The cluster's CA (PEM or DER). Required: against the system's roots, any public certificate would be a member.</summary>
    public string? CaPath { get; set; }

    public void Configure(TlsOptions tls)
    {
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        if (string.IsNullOrWhiteSpace(CaPath)) throw new InvalidOperationException($"{Section}:CaPath is required with {Section}:CertificatePath (the CA whose signature makes a cluster member)");
        var ca = X509CertificateLoader.LoadCertificateFromFile(CaPath);
        tls.RemoteCertificateValidation = (certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            return chain.Build(certificate);
        };
    }
}
