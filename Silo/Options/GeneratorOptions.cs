namespace LongLived.Silo.Options;

/// <summary>Section "Generator": the per-client mock data of the original ("data mock for: &lt;id&gt;").</summary>
public sealed class GeneratorOptions
{
    public const string Section = "Generator";

    /// <summary>Time between two generated messages on a client's own channel; zero: no generated data.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The generator keeps running this long after the last subscriber lease renewal, so a client that
    /// reconnects within it resumes without a hole; then it stops until the client subscribes again.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
