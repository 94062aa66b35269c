using Grpc.Core.Interceptors;
using Grpc.Net.Client.Balancer;
using LongLived.Client.Positions;
using LongLived.Client.Retry;
using LongLived.Client.Tokens;

namespace LongLived.Client;

/// <summary>How a <see cref="LongLivedClient"/> connects, retries and keeps its positions. Bindable from configuration
/// (section <c>LongLived:Client</c> by convention) for its plain values.</summary>
public sealed class LongLivedClientOptions
{
    /// <summary>The gateways (see <see cref="GatewayAddresses"/>): <c>static::7071,:7072,:7073</c>, <c>dns:///host:port</c>,
    /// <c>https://host:port</c>.</summary>
    public string Address { get; set; } = "static::7071,:7072,:7073";

    /// <summary>TLS for every address form (an https:// address implies it).</summary>
    public bool UseTls { get; set; }

    /// <summary>Changes the HTTP handler before the connection is made: certificates, proxies.</summary>
    public Action<SocketsHttpHandler>? ConfigureHttpHandler { get; set; }

    /// <summary>Interceptors every call of the client goes through, the first outermost (logging, headers, tests).</summary>
    public IList<Interceptor> Interceptors { get; } = [];

    /// <summary>A load balancer to use instead of round robin (e.g. one that reports to channelz).</summary>
    public LoadBalancerFactory? LoadBalancer { get; set; }

    /// <summary>Asks for a bearer token when none is held, when the held one nears its expiry, and after a gateway
    /// answered UNAUTHENTICATED. Null: calls carry no token.</summary>
    public Func<TokenRequest, CancellationToken, ValueTask<AccessToken>>? TokenProvider { get; set; }

    /// <summary>A token is renewed this long before its <see cref="AccessToken.ExpiresAt"/>.</summary>
    public TimeSpan TokenRefreshBefore { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Decides the delay before each retry (default: <see cref="FullJitterRetryPolicy"/>).</summary>
    public IRetryPolicy RetryPolicy { get; set; } = new FullJitterRetryPolicy();

    /// <summary>Keeps positions between subscriptions (default: in memory; <see cref="JsonFilePositionStore"/> survives a restart).</summary>
    public IPositionStore PositionStore { get; set; } = new InMemoryPositionStore();

    /// <summary>Positions are saved at most this often while messages are taken, and always when a subscription ends.</summary>
    public TimeSpan PositionSaveInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Acknowledge taken messages (NotifyReceived) without being asked.</summary>
    public bool AutoAcknowledge { get; set; } = true;

    /// <summary>Automatic acknowledgements are sent at most this often, one call for every channel that moved;
    /// <see cref="TimeSpan.Zero"/>: after every message, before the next is handed over (as the original client did).</summary>
    public TimeSpan AcknowledgeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline of each unary call (Publish, NotifyReceived, Unsubscribe).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/2 pings on an idle connection after this long; a connection that does not answer within
    /// <see cref="KeepAlivePingTimeout"/> is closed and its subscriptions resume elsewhere.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>See <see cref="KeepAlivePingDelay"/>.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A subscription that gets no response headers, or then no message, for this long is restarted (and
    /// resumes). Set it above the longest quiet time the subscribed channels have (the own channel's generator sends
    /// every second by default). Null (the default): only pings detect a dead gateway.</summary>
    public TimeSpan? MaxSilence { get; set; }
}
