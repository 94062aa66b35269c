namespace LongLived.Gateway.Options;

/// <summary>Section "Gateway".</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>gRPC port (HTTP/2 cleartext, prior knowledge).</summary>
    public int Port { get; set; } = 7070;

    /// <summary>Admin HTTP/1.1 port (/server/stop, /server/start, /healthz); 0: gRPC port + 1000.</summary>
    public int AdminPort { get; set; }

    public int EffectiveAdminPort => AdminPort > 0 ? AdminPort : Port + 1000;

    /// <summary>Listen on all interfaces (containers) instead of localhost only (both ports).</summary>
    public bool ListenAnyIP { get; set; }

    /// <summary>
    /// Bearer token the admin port's /server/* and /metrics require from every caller once set; empty: they answer
    /// loopback callers only (/healthz answers everyone).
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>Concurrent streams per HTTP/2 connection (Kestrel's default of 100 would queue the 101st subscriber).</summary>
    public int MaxStreamsPerConnection { get; set; } = 10_000;

    /// <summary>
    /// Orleans delivery streams this gateway listens on (channels are spread over them by name); default one per core.
    /// Each stream is one pulling-agent cursor and one delivery call in flight, so fewer streams carry more batches per
    /// call: at 10,000 own channels on two cores, 2 instead of 16 cost the silo 0.21-0.26 cores instead of 0.31
    /// (docs/data-path.md). More streams than cores add no parallelism to the gateway's side.
    /// </summary>
    public int DeliveryShards { get; set; } = Environment.ProcessorCount;

    /// <summary>Messages buffered per stream for a slow consumer; beyond it the stream ends with RESOURCE_EXHAUSTED and the client resumes.</summary>
    public int StreamBufferCapacity { get; set; } = 1024;

    /// <summary>
    /// How often channels with recent traffic have their head checked: finds messages the Orleans stream lost at the
    /// tail (then filled from history), and keeps their generators alive.
    /// </summary>
    public TimeSpan HeadCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Every channel is checked once per this interval (spread over it): the last resort for a message lost on the
    /// stream in a way nothing reported (silo loss, reconnection, a failed send or delivery all trigger a check at once).
    /// Joins do not need it: they last while this gateway is in the gateway directory (renewed every 30 s), and a check
    /// renews a join's own lease (three intervals) for when the directory cannot be read.
    /// </summary>
    public TimeSpan QuietCheckInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Streams end with UNAVAILABLE ("rebalance") after this age, jittered to 80–120 %, and their clients resume
    /// losslessly wherever the balancer sends them: long-lived streams never pin a client to one gateway, so a new
    /// gateway gets its share. Zero: never.
    /// </summary>
    public TimeSpan MaxStreamAge { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Streams stay open this long while the cluster is unreachable (they fill any gap from history once it is back);
    /// after it they end with UNAVAILABLE so clients try another gateway.
    /// </summary>
    public TimeSpan ClusterLossTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a drain (SIGTERM) may take: streams end with UNAVAILABLE at once (the gateway's channel joins are left
    /// to run out with their lease); the host's shutdown timeout is this plus 5 s. Container stop grace periods must be
    /// longer (docker-compose.yml: 40 s). Also bounds each Leave of a channel outside a drain.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Messages per history read when resuming or filling a gap.</summary>
    public int HistoryPageSize { get; set; } = 256;

    /// <summary>Longest client id, in UTF-8 bytes.</summary>
    public int MaxIdLength { get; set; } = 128;

    /// <summary>Most topics one Subscribe may join.</summary>
    public int MaxTopics { get; set; } = 32;

    /// <summary>Largest Publish payload, in UTF-8 bytes.</summary>
    public int MaxPublishBytes { get; set; } = 64 * 1024;
}
