using System.CommandLine.Parsing;
using System.Globalization;

namespace LongLived.Emulator;

/// <summary>Durations as people type them: 30 (seconds), 500ms, 30s, 2m, 1h, or 00:00:30.</summary>
public static class Durations
{
    public static TimeSpan? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (TryParse(text, out var value)) return value;
        result.AddError($"\"{text}\" is not a duration: use 30, 500ms, 30s, 2m, 1h or hh:mm:ss");
        return null;
    }

    public static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim().ToLowerInvariant();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms") => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
        {
            value = TimeSpan.FromSeconds(n * scale);
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
