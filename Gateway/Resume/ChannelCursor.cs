namespace LongLived.Gateway.Resume;

/// <summary>Where one call stands in one channel: the epoch and the last offset delivered (docs/resume.md).</summary>
public sealed class ChannelCursor(string channel, string epoch, ulong last)
{
    public string Channel { get; } = channel;
    public string Epoch { get; private set; } = epoch;
    public ulong Last { get; private set; } = last;

    /// <summary>The next message delivered must say that what came before it is lost.</summary>
    public bool PendingUnrecoverable { get; private set; }

    public void Delivered(ulong offset) => Last = offset;

    /// <summary>The head the head check last saw in this epoch (a jump, the only change of epoch, forgets it).</summary>
    private ulong? _headSeen;

    /// <summary>
    /// Records a head of this epoch the head check saw and returns the one it saw a round earlier (null: none).
    /// Only that one is overdue: the live path may still be carrying everything up to the newest head.
    /// </summary>
    public ulong? HeadSeenBefore(ulong head)
    {
        var before = _headSeen;
        _headSeen = head;
        return before;
    }

    /// <summary>Gives up on what is missing: continue in <paramref name="epoch"/> after <paramref name="last"/>, and say so.</summary>
    public void Jump(string epoch, ulong last)
    {
        Epoch = epoch;
        Last = last;
        PendingUnrecoverable = true;
        _headSeen = null;
    }

    public bool TakePendingUnrecoverable()
    {
        var pending = PendingUnrecoverable;
        PendingUnrecoverable = false;
        return pending;
    }
}
