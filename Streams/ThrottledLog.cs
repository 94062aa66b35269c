namespace LongLived.Streams;

/// <summary>
/// For a warning that can fire thousands of times a second (every batch meant for a gateway that died): the first
/// occurrence is logged, then at most one per interval, saying how many it stands for. Thread-safe.
/// </summary>
public sealed class ThrottledLog(TimeSpan interval)
{
    private long _nextAt; // Environment.TickCount64 from which the next occurrence is logged
    private long _suppressed;

    /// <summary>True when this occurrence is to be logged; <paramref name="suppressed"/> is how many were not since the last one that was.</summary>
    public bool ShouldLog(out long suppressed)
    {
        var now = Environment.TickCount64;
        var next = Interlocked.Read(ref _nextAt);
        if (now < next || Interlocked.CompareExchange(ref _nextAt, now + (long)interval.TotalMilliseconds, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }
        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}
