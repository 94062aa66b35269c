using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LongLived.Channelz;

namespace LongLived.Emulator;

/// <summary>One gRPC channel over all gateway addresses, balanced round-robin by Grpc.Net.Client itself.</summary>
public static class GatewayChannel
{
    /// <summary>With <paramref name="channelz"/>, the channel and its subchannels are reported there under the address.</summary>
    public static GrpcChannel Create(EmulatorSettings settings, IReadOnlyList<DnsEndPoint> gateways, ILoggerFactory loggerFactory, ChannelzRegistry? channelz)
    {
        var target = settings.Address;
        var tls = settings.Tls || AddressParser.IsTls(target);
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => gateways.Select(g => new BalancerAddress(g.Host, g.Port))));
        LoadBalancingConfig balancing = new RoundRobinConfig();
        if (channelz is not null)
        {
            services.AddSingleton<LoadBalancerFactory>(new ChannelzRoundRobinFactory(channelz, channelz.AddChannel(target)));
            balancing = new LoadBalancingConfig(ChannelzRoundRobinFactory.PolicyName);
        }
        return GrpcChannel.ForAddress("static:///longlived", new GrpcChannelOptions
        {
            // With a custom resolver the credentials decide the transport: TLS (ALPN h2) or h2c.
            Credentials = tls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { balancing }, MethodConfigs = { UnaryRetries() } },
            ServiceProvider = services.BuildServiceProvider(),
            LoggerFactory = loggerFactory,
            // A dead gateway is retried quickly, but not in a tight loop.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(200),
            MaxReconnectBackoff = TimeSpan.FromSeconds(5),
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(5), // the default is infinite
                // Idle long-lived streams: pings find a half-open connection.
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                SslOptions = { CertificateChainPolicy = TrustOnly(settings.CaFile) },
            },
        });
    }

    /// <summary>
    /// Unary calls that end UNAVAILABLE are tried again (jittered, over about 2 s) on whatever the balancer picks next.
    /// A killed gateway's subchannel stays in the round robin until the balancer sees its connection gone, and each pick
    /// of it fails at once ("Connection refused"): without retries, acknowledgements sent in that window failed. All three
    /// are idempotent as this emulator sends them: NotifyReceived carries positions (storing one twice changes nothing),
    /// Publish an idempotency key, and a repeated Unsubscribe is NOT_FOUND.
    /// </summary>
    private static MethodConfig UnaryRetries() => new()
    {
        Names =
        {
            new MethodName { Service = "protos.Longlived", Method = "NotifyReceived" },
            new MethodName { Service = "protos.Longlived", Method = "Publish" },
            new MethodName { Service = "protos.Longlived", Method = "Unsubscribe" },
        },
        RetryPolicy = new RetryPolicy
        {
            MaxAttempts = 5,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromSeconds(1),
            BackoffMultiplier = 2,
            RetryableStatusCodes = { StatusCode.Unavailable },
        },
    };

    /// <summary>Gateways' certificates checked against this CA only (a private CA); null: the system's roots.</summary>
    private static X509ChainPolicy? TrustOnly(string? caFile)
    {
        if (string.IsNullOrEmpty(caFile)) return null;
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(caFile));
        return policy;
    }
}
