namespace LongLived.Contracts.Grains;

/// <summary>
/// A grain could not store its state (the storage provider failed or timed out). Nothing the call asked for is visible,
/// but the write may still have reached storage: the outcome is unknown. Gateways answer UNAVAILABLE with this message;
/// a publisher retries with the same idempotency key, which returns the original if it was stored after all.
/// </summary>
[GenerateSerializer, Alias("ll.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException(string message) : base(message) { }
}
