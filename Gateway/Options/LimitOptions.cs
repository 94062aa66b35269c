namespace LongLived.Gateway.Options;

/// <summary>
/// Section "Gateway:Limits": what one gateway, one client id and one remote address may take. Refusals are
/// RESOURCE_EXHAUSTED with a message, at once (never queued). Rates are token buckets: a sustained rate per second and
/// a burst (the bucket's size: what may come at once after a quiet while).
/// </summary>
public sealed class LimitOptions
{
    public const string Section = "Gateway:Limits";

    /// <summary>
    /// Concurrent Subscribe streams on this gateway. 0: derived from the memory the GC may use — half of it at 32 KB per
    /// stream (above the RSS per idle stream docs/benchmarks.md measures), at most 100,000 (the most measured).
    /// </summary>
    public int MaxStreams { get; set; }

    /// <summary>Subscribes per second per client id: a reconnect loop cannot pin a gateway.</summary>
    public double SubscribesPerSecondPerClient { get; set; } = 2;
    public int SubscribeBurstPerClient { get; set; } = 10;

    /// <summary>
    /// Subscribes per second per remote address. Generous: behind NAT or a load balancer many clients share one address,
    /// and a failover moves them all at once.
    /// </summary>
    public double SubscribesPerSecondPerAddress { get; set; } = 1_000;
    public int SubscribeBurstPerAddress { get; set; } = 20_000;

    /// <summary>
    /// Unary calls (Publish, NotifyReceived, Unsubscribe) per second per remote address, checked before the token:
    /// a flood from one address stops before it costs token checks or grain calls. Generous: the original contract
    /// sends one NotifyReceived per message, from every client behind the address.
    /// </summary>
    public double CallsPerSecondPerAddress { get; set; } = 20_000;
    public int CallBurstPerAddress { get; set; } = 50_000;

    /// <summary>Publishes per second per publisher (the token's subject; without auth, the remote address).</summary>
    public double PublishesPerSecond { get; set; } = 2_000;
    public int PublishBurst { get; set; } = 10_000;

    /// <summary>Published payload bytes per second per publisher.</summary>
    public double PublishBytesPerSecond { get; set; } = 4 * 1024 * 1024;
    public int PublishBytesBurst { get; set; } = 16 * 1024 * 1024;

    /// <summary>The stream limit in force (see <see cref="MaxStreams"/>).</summary>
    public int EffectiveMaxStreams(long availableMemoryBytes) =>
        MaxStreams > 0 ? MaxStreams : (int)Math.Clamp(availableMemoryBytes / 2 / (32 * 1024), 1_000, 100_000);
}
