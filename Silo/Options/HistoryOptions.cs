namespace LongLived.Silo.Options;

/// <summary>Section "History": how much of each channel is kept for resume and gap filling.</summary>
public sealed class HistoryOptions
{
    public const string Section = "History";

    /// <summary>At most this many messages per channel.</summary>
    public int MaxCount { get; set; } = 1000;

    /// <summary>Messages older than this are dropped; a client disconnected longer than this cannot resume without loss.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// With Redis: how long a silent channel's numbering (epoch, head) is kept after its last message. Its history
    /// goes after <see cref="MaxAge"/> (a key expiry: nothing in it would be served any more); the numbering lasts
    /// longer so that a client back within this time resumes in the same epoch (told what it missed is gone), later
    /// than this the channel starts a new epoch. Zero or less: kept forever.
    /// </summary>
    public TimeSpan NumberingRetention { get; set; } = TimeSpan.FromDays(7);
}
