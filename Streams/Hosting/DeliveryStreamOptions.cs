namespace LongLived.Streams.Hosting;

/// <summary>
/// Section "Orleans": the delivery streams' provider and its settings, read alike by silos and gateways (one type, so
/// the two sides cannot disagree on the queue count).
/// </summary>
public sealed class DeliveryStreamOptions
{
    public const string Section = "Orleans";
    public const string EventDriven = "longlived";
    public const string Memory = "memory";
    public const string Streams = "streams";
    public const string Observer = "observer";

    /// <summary>
    /// How a gateway receives. "streams": channel grains deliver on Orleans streams (<see cref="StreamProvider"/>).
    /// "observer": each silo calls the gateway's observer with what its channels queued (no stream, no pulling agent): a
    /// bench option, to measure what the streams cost. Read by gateways only: a gateway's route says how it listens, and
    /// silos deliver to each gateway that way.
    /// </summary>
    public string Delivery { get; set; } = Streams;

    /// <summary>"longlived": queues whose reads wait for data (no polling); "memory": Orleans' memory streams, polled.</summary>
    public string StreamProvider { get; set; } = EventDriven;

    /// <summary>Stream queues, each with its own pulling agent on some silo.</summary>
    public int StreamQueues { get; set; } = 8;

    /// <summary>
    /// The pulling agents' timer. Memory streams: how often a queue is polled, the latency floor of the live path.
    /// Event-driven: how soon an agent reads again after a read that waited <see cref="StreamReadWait"/> for nothing.
    /// </summary>
    public TimeSpan StreamPollPeriod { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Events a pulling agent hands to one subscriber per delivery call (Orleans' BatchContainerBatchSize).</summary>
    public int StreamBatchSize { get; set; } = 64;

    /// <summary>Event-driven: how long a read of an empty queue waits for an event.</summary>
    public TimeSpan StreamReadWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Event-driven: batches a queue holds before it refuses more, and events an outbox holds for a queue (or, delivering by observer, a gateway) that does not answer (bounded memory, a clear error).</summary>
    public int StreamQueueCapacity { get; set; } = 65_536;

    /// <summary>Event-driven: batches a pulling agent keeps for a consumer that has not taken them yet (a gateway that lags or died).</summary>
    public int StreamCacheCapacity { get; set; } = 16_384;

    /// <summary>
    /// Memory streams: how long delivered events stay in the queue cache (Orleans keeps 30 minutes by default). History is
    /// the truth, so the cache only has to cover delivery: a longer cache is silo memory growing with traffic.
    /// </summary>
    public TimeSpan StreamCacheAge { get; set; } = TimeSpan.FromMinutes(1);

    public bool ByObserver => string.Equals(Delivery, Observer, StringComparison.OrdinalIgnoreCase);

    public bool IsEventDriven => string.Equals(StreamProvider, EventDriven, StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws for a provider or delivery name that is neither.</summary>
    public DeliveryStreamOptions Validated()
    {
        if (!IsEventDriven && !string.Equals(StreamProvider, Memory, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Orleans:StreamProvider is \"{StreamProvider}\": use \"{EventDriven}\" (event-driven) or \"{Memory}\" (Orleans memory streams)");
        }
        if (!ByObserver && !string.Equals(Delivery, Streams, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Orleans:Delivery is \"{Delivery}\": use \"{Streams}\" (Orleans streams) or \"{Observer}\" (a call to each gateway's observer)");
        }
        return this;
    }
}
