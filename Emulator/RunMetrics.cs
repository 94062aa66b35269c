namespace LongLived.Emulator;

/// <summary>Run-wide measurements shared by all clients.</summary>
public sealed class RunMetrics
{
    /// <summary>Publish (channel grain) to receipt, live messages only.</summary>
    public LatencyHistogram Latency { get; } = new();
    /// <summary>From a stream's failure to the first message of the resumed stream.</summary>
    public LatencyHistogram ResumeLatency { get; } = new();
    /// <summary>From a stream's failure to the resumed stream's response headers (subscribed again, history being sent);
    /// unlike <see cref="ResumeLatency"/> it does not include waiting for the next message to be published.</summary>
    public LatencyHistogram ReattachLatency { get; } = new();
    public long Published;
    public long PublishFailures;
    /// <summary>Failed NotifyReceived calls by "STATUS: start of the detail": why acknowledgements did not arrive.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, long> NotifyFailureKinds { get; } = new();
}
