namespace LongLived.Emulator;

/// <summary>
/// Bounded, lock-free latency histogram: logarithmic buckets about 1.6 % wide from 1 µs to hours,
/// so a long run with many clients costs a fixed 16 KB, not one entry per message.
/// </summary>
public sealed class LatencyHistogram
{
    private const double BucketsPerE = 64;
    private readonly long[] _buckets = new long[2048];
    private long _count;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public void Record(TimeSpan latency)
    {
        var micros = Math.Max(0, (long)latency.TotalMicroseconds);
        var index = Math.Min(_buckets.Length - 1, (int)(Math.Log(1 + micros) * BucketsPerE));
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
        long seen;
        while (micros > (seen = Interlocked.Read(ref _maxMicros)) && Interlocked.CompareExchange(ref _maxMicros, micros, seen) != seen) { }
    }

    /// <summary>The value below which <paramref name="percentile"/> % of samples fall, in milliseconds (0 when empty).</summary>
    public double PercentileMs(double percentile)
    {
        var total = Count;
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank) return Math.Min(Math.Exp((i + 1) / BucketsPerE) - 1, Interlocked.Read(ref _maxMicros)) / 1000.0;
        }
        return MaxMs;
    }

    public double MaxMs => Interlocked.Read(ref _maxMicros) / 1000.0;
}
