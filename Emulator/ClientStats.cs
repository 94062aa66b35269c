namespace LongLived.Emulator;

/// <summary>What one emulated client saw. Written by its own loop, read by the summary: counters are interlocked.</summary>
public sealed class ClientStats(string clientId)
{
    public string ClientId { get; } = clientId;
    public long Received;
    /// <summary>Offsets that never arrived without the gateway saying they were lost.</summary>
    public long Gaps;
    public long Duplicates;
    public long Reconnects;
    /// <summary>Streams after a failure that delivered at least one message.</summary>
    public long Resumes;
    /// <summary>Breaks the gateway reported as not recoverable (Response.unrecoverable).</summary>
    public long Unrecoverable;
    public long NotifyFailures;
    /// <summary>When the last message arrived (Unix ms; 0: none yet): shows who still receives after a failure.</summary>
    public long LastReceivedUnixMs;
    /// <summary>Set when a newer Subscribe for the same id took over.</summary>
    public bool Replaced;
    /// <summary>Set when the gateway refused it for good (PERMISSION_DENIED: its token does not allow it).</summary>
    public bool Refused;
}
