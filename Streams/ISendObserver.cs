namespace LongLived.Streams;

/// <summary>
/// Told when the call that carried its item failed, or the item was refused (<see cref="Outbox{TItem}"/>). Called on any
/// thread: the outbox's when its call fails, the producer's own (within its call to queue) when the item is refused.
/// </summary>
public interface ISendObserver
{
    void SendFailed(Exception error);
}
