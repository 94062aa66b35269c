using Orleans.Streams;

namespace LongLived.Streams;

/// <summary>
/// A pulling agent's reader of one queue. The agent keeps reading while reads return data and starts again one
/// <c>GetQueueMsgsTimerPeriod</c> after a read that returned none; since a read here waits for data, an idle queue costs
/// one read per <see cref="EventQueueOptions.ReadWait"/> and a live event waits for no timer. The agent cancels the
/// pending read when it shuts down.
/// </summary>
internal sealed class EventQueueReceiver(IEventQueueGrain queue, EventQueueOptions options) : IQueueAdapterReceiver
{
    private long _received; // the sequence of the newest batch received: the next read confirms it

    public Task Initialize(TimeSpan timeout) => Task.CompletedTask;

    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        var max = maxCount < 0 ? options.MaxBatchesPerRead : Math.Min(maxCount, options.MaxBatchesPerRead);
        EventBatch[] batches;
        try
        {
            batches = await queue.Read(_received, max, options.ReadWait, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The agent is stopping: a read it cancelled found nothing (thrown, the agent would log an error per queue),
            // and what it would have returned stays queued for the next reader.
            return [];
        }
        if (batches.Length > 0) _received = batches[^1].Token.SequenceNumber;
        StreamMetrics.Read(batches.Length);
        return [.. batches];
    }

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    public Task Shutdown(TimeSpan timeout) => Task.CompletedTask;
}
