using System.Globalization;
using System.Text.RegularExpressions;

namespace LongLived.Tests;

/// <summary>Reads a /metrics page (Prometheus text format) as an operator's tools would.</summary>
internal static class PrometheusText
{
    public record struct Point(string Labels, double Value);

    /// <summary>The series of one metric: <c>name{labels} value</c> or <c>name value</c>.</summary>
    public static IEnumerable<Point> Series(string text, string name) =>
        Regex.Matches(text, $@"^{Regex.Escape(name)}(?:\{{(?<l>[^}}]*)\}})? (?<v>\S+)", RegexOptions.Multiline)
            .Select(m => new Point(m.Groups["l"].Value, double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture)));

    public static double Sum(string text, string name) => Series(text, name).Sum(p => p.Value);

    /// <summary>The sum of the series of <paramref name="name"/> whose label <paramref name="key"/> is <paramref name="value"/>.</summary>
    public static double Sum(string text, string name, string key, string value) =>
        Series(text, name).Where(p => Label(p.Labels, key) == value).Sum(p => p.Value);

    public static string Label(string labels, string key) => Regex.Match(labels, $@"{key}=""(?<v>[^""]*)""").Groups["v"].Value;
}
