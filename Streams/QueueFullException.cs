namespace LongLived.Streams;

/// <summary>A stream queue refused an event: it holds <c>Orleans:StreamQueueCapacity</c> batches its reader has not taken.</summary>
[GenerateSerializer, Alias("ll.QueueFullException")]
public sealed class QueueFullException(string message) : Exception(message);
