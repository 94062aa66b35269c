namespace LongLived.Streams;

/// <summary>
/// A stream queue refused an event: it holds <c>Orleans:StreamQueueCapacity</c> batches its reader has not taken; or an
/// outbox did: that many events wait for its receiver (a queue, or with <c>Orleans:Delivery=observer</c> a gateway) to answer.
/// </summary>
[GenerateSerializer, Alias("ll.QueueFullException")]
public sealed class QueueFullException(string message) : Exception(message);
