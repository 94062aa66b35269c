using System.Diagnostics;
using Grpc.Core;

namespace LongLived.Client.Retry;

/// <summary>The failures in a row of one subscription or call, as the retry policy sees them.</summary>
internal sealed class FailureRow(string? clientId, int addressCount)
{
    private int _attempts;
    private int _notReached;
    private int _waits;
    private long _firstAt;

    /// <summary>
    /// Records a failure, asks <paramref name="policy"/> for the delay before the next attempt (null: give up), and
    /// records the answer: a real wait renews the at-once budget for refused addresses and counts toward the backoff.
    /// </summary>
    public (RetryContext Context, TimeSpan? Delay) Next(IRetryPolicy policy, Status status, bool reachedGateway)
    {
        if (_attempts++ == 0) _firstAt = Stopwatch.GetTimestamp();
        _notReached = reachedGateway ? 0 : _notReached + 1;
        var context = new RetryContext(clientId, _attempts, Stopwatch.GetElapsedTime(_firstAt), status, reachedGateway, _notReached, addressCount, _waits);
        var delay = policy.NextDelay(context);
        if (delay > TimeSpan.Zero)
        {
            _waits++;
            _notReached = 0;
        }
        return (context, delay);
    }

    /// <summary>A message arrived: the next failure starts a new row.</summary>
    public void Clear() => (_attempts, _notReached, _waits) = (0, 0, 0);
}
