using System.Threading.RateLimiting;
using Grpc.Core;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Operations;

namespace LongLived.Gateway.Security;

/// <summary>
/// The gateway's quotas: concurrent streams, and token-bucket rates per client id, per remote address and per publisher
/// (System.Threading.RateLimiting, what ASP.NET Core's rate limiting middleware is built on; the middleware itself cannot
/// see the client id inside a gRPC message, and answers HTTP 429, which gRPC clients read as UNAVAILABLE).
/// Idle partitions are dropped by the limiters themselves, so memory follows active keys only.
/// </summary>
public sealed class CallLimits : IDisposable
{
    private readonly LimitOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly PartitionedRateLimiter<string> _subscribesPerClient;
    private readonly PartitionedRateLimiter<string> _subscribesPerAddress;
    private readonly PartitionedRateLimiter<string> _callsPerAddress;
    private readonly PartitionedRateLimiter<string> _publishes;
    private readonly PartitionedRateLimiter<string> _publishBytes;
    private int _streams;

    public CallLimits(IOptions<LimitOptions> options, GatewayMetrics metrics)
    {
        _options = options.Value;
        _metrics = metrics;
        MaxStreams = _options.EffectiveMaxStreams(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        _subscribesPerClient = Buckets(_options.SubscribesPerSecondPerClient, _options.SubscribeBurstPerClient);
        _subscribesPerAddress = Buckets(_options.SubscribesPerSecondPerAddress, _options.SubscribeBurstPerAddress);
        _callsPerAddress = Buckets(_options.CallsPerSecondPerAddress, _options.CallBurstPerAddress);
        _publishes = Buckets(_options.PublishesPerSecond, _options.PublishBurst);
        _publishBytes = Buckets(_options.PublishBytesPerSecond, _options.PublishBytesBurst);
    }

    public int MaxStreams { get; }

    public int Streams => Volatile.Read(ref _streams);

    /// <summary>Before anything else of a Subscribe: cheap, and shields the token check from a flood.</summary>
    public void SubscribeFrom(ServerCallContext context) =>
        Take(_subscribesPerAddress, Address(context), 1, "subscribe-address",
            $"too many subscribes from {Address(context)} (at most {_options.SubscribesPerSecondPerAddress}/s, burst {_options.SubscribeBurstPerAddress})");

    /// <summary>Before anything else of a unary call, for the same reason.</summary>
    public void CallFrom(ServerCallContext context) =>
        Take(_callsPerAddress, Address(context), 1, "call-address",
            $"too many calls from {Address(context)} (at most {_options.CallsPerSecondPerAddress}/s, burst {_options.CallBurstPerAddress})");

    /// <summary>After authentication: an unauthenticated caller must not spend a victim's budget.</summary>
    public void SubscribeAs(string clientId) =>
        Take(_subscribesPerClient, clientId, 1, "subscribe-client",
            $"too many subscribes for client id {clientId} (at most {_options.SubscribesPerSecondPerClient}/s, burst {_options.SubscribeBurstPerClient}): back off before resubscribing");

    /// <summary><paramref name="publisher"/>: the token's subject, or the remote address without auth.</summary>
    public void Publish(string publisher, int bytes)
    {
        Take(_publishes, publisher, 1, "publish-rate",
            $"too many publishes by {publisher} (at most {_options.PublishesPerSecond}/s, burst {_options.PublishBurst})");
        // A bucket cannot hand out more than its size at once: a payload larger than the burst costs the whole bucket.
        Take(_publishBytes, publisher, Math.Min(bytes, _options.PublishBytesBurst), "publish-bytes",
            $"too many published bytes by {publisher} (at most {_options.PublishBytesPerSecond} B/s, burst {_options.PublishBytesBurst} B)");
    }

    /// <summary>A place among the gateway's streams, given back by disposing it; refused at once when none is left.</summary>
    public StreamSlot OpenStream()
    {
        if (Interlocked.Increment(ref _streams) > MaxStreams)
        {
            Interlocked.Decrement(ref _streams);
            _metrics.Rejected("max-streams");
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"gateway holds its maximum of {MaxStreams} streams (Gateway:Limits:MaxStreams): try another gateway"));
        }
        return new StreamSlot(this);
    }

    public static string Address(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private void Take(PartitionedRateLimiter<string> limiter, string key, int permits, string reason, string message)
    {
        using var lease = limiter.AttemptAcquire(key, permits);
        if (lease.IsAcquired) return;
        _metrics.Rejected(reason);
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? $"; retry after {after.TotalSeconds:0.###} s" : "";
        throw new RpcException(new Status(StatusCode.ResourceExhausted, message + retry));
    }

    private static PartitionedRateLimiter<string> Buckets(double perSecond, int burst)
    {
        if (perSecond <= 0 || burst <= 0) throw new InvalidOperationException($"{LimitOptions.Section}: rates and bursts must be positive (got {perSecond}/s, burst {burst})");
        // The partitioned limiter's heartbeat (every 100 ms) replenishes a bucket only once a whole period has passed:
        // periods of a second (or 1/rate for slow rates) keep the rate within 10 % of the setting.
        var (period, tokens) = perSecond >= 1
            ? (TimeSpan.FromSeconds(1), (int)Math.Round(perSecond))
            : (TimeSpan.FromSeconds(1 / perSecond), 1);
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = false, // the partitioned limiter's own timer replenishes: no timer per key
        };
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => options));
    }

    public void Dispose()
    {
        _subscribesPerClient.Dispose();
        _subscribesPerAddress.Dispose();
        _callsPerAddress.Dispose();
        _publishes.Dispose();
        _publishBytes.Dispose();
    }

    public sealed class StreamSlot(CallLimits limits) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Interlocked.Decrement(ref limits._streams);
        }
    }
}
