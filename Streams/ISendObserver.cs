namespace LongLived.Streams;

/// <summary>
/// Told when the call that carried its item failed, or the item was refused (<see cref="Outbox{TItem}"/>). Called on the
/// outbox's thread, not in the producer's turn: an observer must be safe to call from any thread.
/// </summary>
public interface ISendObserver
{
    void SendFailed(Exception error);
}
