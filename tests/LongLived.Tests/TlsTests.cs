using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Emulator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LongLived.Tests;

/// <summary>
/// A gateway on TLS with a certificate from configuration (PEM files), signed by a CA this test makes: the emulator
/// trusts that CA (--ca-file) and streams without loss; a client that trusts only the system's roots is refused.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("longlived-tls-").FullName;

    [Fact]
    public async Task The_emulator_streams_over_TLS_trusting_the_gateway_CA_and_an_untrusting_client_is_refused()
    {
        var (caFile, certFile, keyFile) = MakeCertificates(ServerAuth);
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId=tls-{Guid.NewGuid():N}"],
            gateway: [$"--Gateway:Tls:CertificatePath={certFile}", $"--Gateway:Tls:KeyPath={keyFile}"]);

        var settings = new EmulatorSettings
        {
            Address = $"https://127.0.0.1:{cluster.Port}",
            CaFile = caFile,
            Clients = 3,
            Duration = TimeSpan.FromSeconds(4),
            Topics = [TestStreams.NewId("secure")],
            PublishRate = 10,
            LogMessages = false,
        };
        var report = await new EmulatorRun(settings, NullLoggerFactory.Instance).RunAsync(CancellationToken.None);
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.PublishFailures);
        Assert.All(report.PerClient, c => Assert.True(c.Received >= 10, $"{c.Id} received {c.Received}"));

        // The same gateway, trusted by nobody else: the handshake fails, and h2c is not spoken on that port.
        using var untrusting = GrpcChannel.ForAddress($"https://127.0.0.1:{cluster.Port}");
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Longlived.LonglivedClient(untrusting).PublishAsync(new PublishRequest { Channel = "t", Data = "x" }, deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Contains("errors in the certificate chain", refused.Status.DebugException?.ToString() ?? "", StringComparison.Ordinal);
        var cleartext = await Assert.ThrowsAsync<RpcException>(async () =>
            await cluster.Client.PublishAsync(new PublishRequest { Channel = "t", Data = "x" }, deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.NotEqual(StatusCode.DeadlineExceeded, cleartext.StatusCode); // refused, not left hanging

        // The admin port too (the admin token travels on it): HTTPS with the same certificate, no cleartext.
        using var trusting = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate?.GetCertHashString() == X509Certificate2.CreateFromPemFile(certFile, keyFile).Thumbprint } })
            { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await trusting.GetAsync($"https://127.0.0.1:{cluster.AdminPort}/healthz")).StatusCode);
        await Assert.ThrowsAsync<HttpRequestException>(() => trusting.GetAsync($"http://127.0.0.1:{cluster.AdminPort}/healthz"));
        // The container health check (`LongLived.Gateway.dll --healthcheck <url>`) probes itself there over https,
        // whatever names the certificate holds.
        await using var probe = Failover.NodeProcess.Gateway("probe", "--healthcheck", $"https://127.0.0.1:{cluster.AdminPort}/healthz");
        probe.Start();
        Assert.Equal(0, await probe.ExitCodeAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Silos_and_gateways_speak_mutual_TLS_and_an_Orleans_client_without_a_certificate_is_refused()
    {
        var (caFile, certFile, keyFile) = MakeCertificates(ServerAuth, ClientAuth);
        var clusterId = $"mtls-{Guid.NewGuid():N}";
        await using var cluster = await OwnCluster.StartAsync(
            ["--Logging:LogLevel:Default=Warning", $"--Orleans:ClusterId={clusterId}",
             $"--Orleans:Tls:CertificatePath={certFile}", $"--Orleans:Tls:KeyPath={keyFile}", $"--Orleans:Tls:CaPath={caFile}"]);

        // The gateway reached the silo over TLS: a publish goes through the grains and comes back on a stream.
        var topic = TestStreams.NewId("mtls");
        using var call = cluster.Client.Subscribe(TestStreams.Subscribe(TestStreams.NewId("member"), topic));
        await call.ReadyAsync();
        await cluster.Client.PublishAsync(new PublishRequest { Channel = topic, Data = "over mTLS" });
        Assert.Equal("over mTLS", (await call.ResponseStream.TakeAsync(1, topic))[0].Data);

        // Same cluster and service ids, a certificate of another CA, trusting anything itself: the silo does not let it in
        // (its client keeps retrying the refused handshake; without TLS on the silo it would be connected in a second).
        var (_, otherCert, otherKey) = MakeCertificates("other", ServerAuth, ClientAuth);
        var outsider = Host.CreateApplicationBuilder();
        outsider.Logging.ClearProviders();
        outsider.UseOrleansClient(client => client.UseLocalhostClustering(cluster.SiloGatewayPort, "longlived", clusterId)
            .UseTls(X509Certificate2.CreateFromPemFile(otherCert, otherKey), tls => tls.AllowAnyRemoteCertificate()));
        using var host = outsider.Build();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(patience.Token).WaitAsync(TimeSpan.FromSeconds(15)));
    }

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A CA, and a certificate for 127.0.0.1 and localhost signed by it (with these uses), as PEM files.</summary>
    private (string Ca, string Cert, string Key) MakeCertificates(params Oid[] uses) => MakeCertificates("cluster", uses);

    private (string Ca, string Cert, string Key) MakeCertificates(string name, params Oid[] uses)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=LongLived test CA {name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        // One clock reading, and the leaf ends well before the CA: the CA's dates are cut to whole seconds, so a second
        // reading a moment later could end the leaf after its issuer (and Create refuses that).
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. uses], false));
        using var server = request.Create(ca, now.AddMinutes(-5), now.AddHours(12), RandomNumberGenerator.GetBytes(8));

        var paths = (Path.Combine(_dir, $"{name}-ca.pem"), Path.Combine(_dir, $"{name}.pem"), Path.Combine(_dir, $"{name}.key"));
        File.WriteAllText(paths.Item1, ca.ExportCertificatePem());
        File.WriteAllText(paths.Item2, server.ExportCertificatePem());
        File.WriteAllText(paths.Item3, serverKey.ExportPkcs8PrivateKeyPem());
        return paths;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
