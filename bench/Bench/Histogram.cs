namespace LongLived.Bench;

/// <summary>Latencies in log-scaled buckets (2 % wide from 10 µs up): constant memory, thread-safe, mergeable.</summary>
public sealed class Histogram
{
    private const double Growth = 1.02;
    private const double MinMicros = 10;
    private readonly long[] _buckets = new long[1200]; // 10 µs · 1.02^1200 ≈ 2.1e10 µs: more than any run

    public long Count => Interlocked.Read(ref _count);
    private long _count;

    public void Record(double milliseconds)
    {
        var micros = Math.Max(milliseconds * 1000, MinMicros);
        var index = Math.Min((int)(Math.Log(micros / MinMicros) / Math.Log(Growth)), _buckets.Length - 1);
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>The value below which <paramref name="quantile"/> of the samples fall, in milliseconds (NaN when empty).</summary>
    public double Percentile(double quantile)
    {
        var total = Count;
        if (total == 0) return double.NaN;
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank) return Upper(i);
        }
        return Upper(_buckets.Length - 1);
    }

    /// <summary>(latency ms, fraction of samples at or below it) for each non-empty bucket: the CDF to plot.</summary>
    public IEnumerable<(double Ms, double Fraction)> Cdf()
    {
        var total = (double)Count;
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            var n = Interlocked.Read(ref _buckets[i]);
            if (n == 0) continue;
            seen += n;
            yield return (Upper(i), seen / total);
        }
    }

    private static double Upper(int index) => MinMicros * Math.Pow(Growth, index + 1) / 1000;
}
