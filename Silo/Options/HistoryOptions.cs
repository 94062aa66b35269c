namespace LongLived.Silo.Options;

/// <summary>Section "History": how much of each channel is kept for resume and gap filling.</summary>
public sealed class HistoryOptions
{
    public const string Section = "History";

    /// <summary>At most this many messages per channel.</summary>
    public int MaxCount { get; set; } = 1000;

    /// <summary>Messages older than this are dropped; a client disconnected longer than this cannot resume without loss.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);
}
