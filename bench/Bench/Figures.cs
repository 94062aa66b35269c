namespace LongLived.Bench;

/// <summary>
/// What one run of one scenario produced: scalar figures under their latest.json path ("idle.gatewayKBPerStream"),
/// series for the plots, and each process's CPU and RSS.
/// </summary>
public sealed class Figures
{
    public Dictionary<string, double> Values { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, List<(double X, double Y)>> Series { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, IReadOnlyList<ProcessFigure>> Processes { get; } = new(StringComparer.Ordinal);

    public double this[string key] { set => Values[key] = double.IsFinite(value) ? Math.Round(value, 3) : double.NaN; }

    public void Add(string series, double x, double y)
    {
        if (!Series.TryGetValue(series, out var points)) Series[series] = points = [];
        points.Add((x, y));
    }

    /// <summary>Per key, the median over the runs; series and processes of the median run of the first key.</summary>
    public static Figures Median(IReadOnlyList<Figures> runs)
    {
        if (runs.Count == 1) return runs[0];
        var median = new Figures();
        foreach (var key in runs.SelectMany(r => r.Values.Keys).Distinct())
        {
            var values = runs.Select(r => r.Values.GetValueOrDefault(key, double.NaN)).Where(double.IsFinite).Order().ToArray();
            median.Values[key] = values.Length == 0 ? double.NaN : values[values.Length / 2];
        }
        var middle = runs[runs.Count / 2];
        foreach (var (k, v) in middle.Series) median.Series[k] = v;
        foreach (var (k, v) in middle.Processes) median.Processes[k] = v;
        return median;
    }

    public void Merge(Figures other)
    {
        foreach (var (k, v) in other.Values) Values[k] = v;
        foreach (var (k, v) in other.Series) Series[k] = v;
        foreach (var (k, v) in other.Processes) Processes[k] = v;
    }
}
