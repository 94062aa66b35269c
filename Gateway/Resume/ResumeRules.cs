using LongLived.Contracts.Grains;

namespace LongLived.Gateway.Resume;

/// <summary>
/// The resume protocol's decisions, apart from any I/O (<c>docs/resume.md</c> states the promises they keep): where a
/// call starts in a channel, and what it does with a live message, a head, or a page of history, given its cursor.
/// Each rule moves the cursor as the protocol says; <see cref="SessionRelay"/> reads history and writes to the call.
/// </summary>
public static class ResumeRules
{
    /// <summary>A new subscriber starts at the head: it gets everything stored from now on.</summary>
    public static ChannelCursor StartAtHead(string channel, ChannelHead head) => new(channel, head.Epoch, head.Head);

    /// <summary>
    /// A subscriber with a position starts there if history can serve what follows it (<paramref name="page"/> is the
    /// read after it); otherwise at the head, its first message marked unrecoverable.
    /// </summary>
    public static ChannelCursor StartAt(string channel, ChannelPosition position, HistoryPage page)
    {
        if (page.Recoverable) return new ChannelCursor(channel, page.Epoch, position.Offset);
        var cursor = new ChannelCursor(channel, page.Epoch, page.Head);
        cursor.Jump(page.Epoch, page.Head);
        return cursor;
    }

    /// <summary>What to do with a live message.</summary>
    public static LiveStep OnLive(ChannelCursor cursor, ChannelMessage message) =>
        message.Epoch != cursor.Epoch ? LiveStep.AskHead
        : message.Offset <= cursor.Last ? LiveStep.Drop
        : message.Offset > cursor.Last + 1 ? LiveStep.FillFirst
        : LiveStep.Send;

    /// <summary>
    /// A live message of another epoch, with the channel's <paramref name="head"/>: of the current epoch, the channel
    /// started a new epoch and the old epoch's undelivered tail is gone, so the cursor moves to the start of the new
    /// epoch (history then fills it from its first offset still held, the first message marked unrecoverable) and true
    /// is returned; of another epoch, the message is a late one of an older epoch: false, drop it.
    /// </summary>
    public static bool EnterNewEpoch(ChannelCursor cursor, ChannelHead head, ChannelMessage message)
    {
        if (head.Epoch != message.Epoch) return false;
        cursor.Jump(message.Epoch, 0);
        return true;
    }

    /// <summary>
    /// After the fill before a live message: drop it if the fill delivered it (or moved on to another epoch); if history
    /// could not supply the hole although it should have, the hole is reported lost and the message sent.
    /// </summary>
    public static LiveStep AfterFill(ChannelCursor cursor, ChannelMessage message)
    {
        if (message.Epoch != cursor.Epoch || message.Offset <= cursor.Last) return LiveStep.Drop;
        if (message.Offset > cursor.Last + 1)
        {
            cursor.Jump(message.Epoch, message.Offset - 1);
            return LiveStep.SendAfterLoss;
        }
        return LiveStep.Send;
    }

    /// <summary>
    /// Tail loss: how far to fill after the head check saw <paramref name="head"/> (null: nothing). A new epoch: all of
    /// it at once (the old epoch's undelivered tail is gone either way). A new activation (<paramref name="restarted"/>):
    /// up to its head, which it never sent here. Otherwise only the head the check saw a round earlier: the live path may
    /// still be carrying everything up to the newest one, and filling it now would race the live copies to a history
    /// that may already have trimmed them (reporting as lost what was only late).
    /// </summary>
    public static ulong? FillTarget(ChannelCursor cursor, ChannelHead head, bool restarted)
    {
        if (head.Epoch != cursor.Epoch) return ulong.MaxValue;
        if (restarted) return head.Head > cursor.Last ? head.Head : null;
        var overdue = cursor.HeadSeenBefore(head.Head);
        return overdue > cursor.Last ? overdue : null;
    }

    /// <summary>
    /// One page of a fill toward <paramref name="target"/>. What history cannot serve (an older epoch, or offsets
    /// already trimmed) is reported lost: the cursor jumps to just before the oldest offset history still holds in its
    /// current epoch, and a fill aimed at an offset of the old epoch now aims at everything. Only what is really gone is
    /// skipped.
    /// </summary>
    public static FillStep OnPage(ChannelCursor cursor, HistoryPage page, ref ulong target)
    {
        if (!page.Recoverable)
        {
            if (page.Epoch != cursor.Epoch) target = ulong.MaxValue;
            cursor.Jump(page.Epoch, Math.Min(page.First - 1, page.Head));
            return FillStep.Jumped;
        }
        return page.Messages.Count == 0 ? FillStep.Done : FillStep.Send;
    }
}

/// <summary>What a live message gets (<see cref="ResumeRules.OnLive"/>, <see cref="ResumeRules.AfterFill"/>).</summary>
public enum LiveStep
{
    /// <summary>The next offset: write it.</summary>
    Send,
    /// <summary>Delivered already (by a history fill or a redelivery), or of an older epoch.</summary>
    Drop,
    /// <summary>A hole before it: fill from history first, then decide again (<see cref="ResumeRules.AfterFill"/>).</summary>
    FillFirst,
    /// <summary>Another epoch: read the channel's head to learn which (<see cref="ResumeRules.EnterNewEpoch"/>).</summary>
    AskHead,
    /// <summary>History lacked the hole: write it, marked unrecoverable (the cursor says so).</summary>
    SendAfterLoss,
}

/// <summary>What a page of history gets (<see cref="ResumeRules.OnPage"/>).</summary>
public enum FillStep
{
    /// <summary>Write its messages and read the next page.</summary>
    Send,
    /// <summary>The cursor jumped past what is lost: read again from there.</summary>
    Jumped,
    /// <summary>Nothing more to fill.</summary>
    Done,
}
