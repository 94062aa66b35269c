using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Logging;

namespace LongLived.Client;

/// <summary>
/// The one long-lived gRPC connection (a <see cref="GrpcChannel"/>) a client makes to its gateways: balancing state,
/// subchannels and HTTP/2 connections live in it, so every call of the client shares them.
/// </summary>
internal static class GatewayConnection
{
    public static GrpcChannel Create(GatewayAddresses addresses, LongLivedClientOptions options, ILoggerFactory? loggerFactory)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5), // the default is infinite
            // Long-lived streams sit idle: pings find a connection whose gateway stopped answering.
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        options.ConfigureHttpHandler?.Invoke(handler);

        ResolverFactory resolver = addresses.DnsTarget is null
            ? new StaticResolverFactory(_ => addresses.Endpoints.Select(e => new BalancerAddress(e.Host, e.Port)))
            : new DnsResolverFactory(TimeSpan.FromSeconds(30));
        var balancing = options.LoadBalancer is { } balancer ? new LoadBalancingConfig(balancer.Name) : new RoundRobinConfig();
        return GrpcChannel.ForAddress(addresses.DnsTarget is { } dns ? $"dns:///{dns}" : "static:///longlived", new GrpcChannelOptions
        {
            // With a resolver the credentials decide the transport: TLS (ALPN h2) or h2c.
            Credentials = options.UseTls || addresses.Tls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { balancing }, MethodConfigs = { UnaryRetries() } },
            ServiceProvider = new BalancingServices(resolver, options.LoadBalancer),
            LoggerFactory = loggerFactory,
            // A dead gateway is retried quickly, but not in a tight loop.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(200),
            MaxReconnectBackoff = TimeSpan.FromSeconds(5),
            HttpHandler = handler,
        });
    }

    /// <summary>
    /// Unary calls that end UNAVAILABLE are tried again by the connection itself (jittered, over about 2 s) on whatever
    /// the balancer picks next: a killed gateway's subchannel stays in the round robin until the balancer sees its
    /// connection gone. All three are idempotent as this client sends them: NotifyReceived carries positions, Publish an
    /// idempotency key, and a repeated Unsubscribe is NOT_FOUND.
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

    /// <summary>The services Grpc.Net.Client looks up for balancing: our resolver and, if given, a load balancer.</summary>
    private sealed class BalancingServices(ResolverFactory resolver, LoadBalancerFactory? balancer) : IServiceProvider
    {
        public object? GetService(Type serviceType)
        {
            if (serviceType == typeof(ResolverFactory)) return resolver;
            if (serviceType == typeof(IEnumerable<ResolverFactory>)) return new[] { resolver };
            if (balancer is not null && serviceType == typeof(LoadBalancerFactory)) return balancer;
            if (balancer is not null && serviceType == typeof(IEnumerable<LoadBalancerFactory>)) return new[] { balancer };
            return null;
        }
    }
}
