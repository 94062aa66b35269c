using Orleans.Runtime;

namespace LongLived.Streams;

/// <summary>
/// Told when a batch left a queue's cache before a consumer of its stream took it (<see cref="EventQueueCache"/>), so
/// that the consumer can be told what it may have lost: the stream's next batch would show it, but there may be none
/// for a while. Optional: register one as a service. Called on the pulling agent's turn: return at once.
/// </summary>
public interface IStreamMissListener
{
    void Missed(string provider, StreamId stream);
}
