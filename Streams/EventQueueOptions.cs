namespace LongLived.Streams;

/// <summary>The event-driven stream provider's settings (named options, per provider).</summary>
public sealed class EventQueueOptions
{
    /// <summary>Queues, each with its own pulling agent: the parallelism of delivery. Silos and gateways must agree.</summary>
    public int Queues { get; set; } = 8;

    /// <summary>How long a read of an empty queue waits for a batch before it returns none (under the 30 s call timeout).</summary>
    public TimeSpan ReadWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Batches a queue holds before it refuses more, and events a process's <see cref="EventQueueOutbox"/> holds for a
    /// queue that does not answer (<see cref="QueueFullException"/>): bounded memory.
    /// </summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Batches a pulling agent's cache holds for consumers that have not taken them (<see cref="EventQueueCache"/>): a
    /// gateway that lags by more, or died, skips the oldest and fills them from history, instead of holding up the queue.
    /// </summary>
    public int CacheCapacity { get; set; } = 16_384;

    /// <summary>Most batches one read takes.</summary>
    public int MaxBatchesPerRead { get; set; } = 256;
}
