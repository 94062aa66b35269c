using LongLived.Contracts.Grains;
using LongLived.Gateway.Resume;

namespace LongLived.Tests;

/// <summary>
/// The resume protocol's promises (docs/resume.md), one rule at a time, without a cluster: where a call starts, and
/// what it does with a live message, a head and a page of history. End-to-end tests check the same promises through
/// real gateways (ResumeTests, EpochChangeTests, BadResumeTests, the failover tests).
/// </summary>
public sealed class ResumeRulesTests
{
    private const string Channel = "topic", E1 = "epoch-one", E2 = "epoch-two";

    private static ChannelMessage Message(ulong offset, string epoch = E1) => new(Channel, offset, epoch, $"m{offset}", 0);

    private static HistoryPage Page(bool recoverable, ulong first, ulong head, string epoch = E1, params ulong[] offsets) =>
        new(epoch, head, recoverable, [.. offsets.Select(o => Message(o, epoch))], first);

    [Theory]
    [InlineData(3UL, E1, true)]  // inside the history
    [InlineData(10UL, E1, true)] // at the head: nothing to send, nothing lost
    [InlineData(0UL, null, true)] // seen nothing, no epoch: everything the history holds
    [InlineData(0UL, E1, true)]
    [InlineData(11UL, E1, false)] // past the head: a position this epoch never had
    [InlineData(3UL, E2, false)]  // another epoch
    [InlineData(3UL, null, false)] // an offset without its epoch may be of a lost one
    [InlineData(3UL, "", false)]
    public void A_channel_serves_a_read_only_after_a_position_of_its_epoch_within_its_history(ulong after, string? epoch, bool served) =>
        Assert.Equal(served, HistoryPage.CanServe(after, epoch, E1, head: 10, first: 1));

    [Fact]
    public void A_read_after_a_position_older_than_the_history_is_not_served()
    {
        Assert.False(HistoryPage.CanServe(3, E1, E1, head: 10, first: 5));
        Assert.True(HistoryPage.CanServe(4, E1, E1, head: 10, first: 5)); // the next offset is still held
        Assert.False(HistoryPage.CanServe(0, null, E1, head: 10, first: 5)); // seen nothing, but the start is trimmed
    }

    [Fact]
    public void A_new_subscriber_starts_at_the_head_and_is_told_of_no_loss()
    {
        var cursor = ResumeRules.StartAtHead(Channel, new ChannelHead(E1, 7));
        Assert.Equal((E1, 7UL, false), (cursor.Epoch, cursor.Last, cursor.PendingUnrecoverable));
    }

    [Fact]
    public void A_position_history_still_holds_resumes_right_after_it()
    {
        var cursor = ResumeRules.StartAt(Channel, new ChannelPosition(3, E1), Page(true, first: 1, head: 5, E1, 4, 5));
        Assert.Equal((E1, 3UL, false), (cursor.Epoch, cursor.Last, cursor.PendingUnrecoverable));
    }

    [Fact]
    public void A_position_history_no_longer_holds_starts_at_the_head_and_the_next_message_says_so()
    {
        var trimmed = ResumeRules.StartAt(Channel, new ChannelPosition(3, E1), Page(false, first: 50, head: 60));
        Assert.Equal((E1, 60UL, true), (trimmed.Epoch, trimmed.Last, trimmed.PendingUnrecoverable));

        var otherEpoch = ResumeRules.StartAt(Channel, new ChannelPosition(3, E1), Page(false, first: 1, head: 2, E2));
        Assert.Equal((E2, 2UL, true), (otherEpoch.Epoch, otherEpoch.Last, otherEpoch.PendingUnrecoverable));
    }

    [Fact]
    public void The_empty_position_of_a_channel_that_has_nothing_yet_resumes_without_loss()
    {
        // Offset 0 without an epoch is "seen nothing": the channel's read calls it recoverable in whatever epoch it has.
        var cursor = ResumeRules.StartAt(Channel, new ChannelPosition(0, ""), Page(true, first: 1, head: 0, E1));
        Assert.Equal((E1, 0UL, false), (cursor.Epoch, cursor.Last, cursor.PendingUnrecoverable));
    }

    [Fact]
    public void The_next_offset_is_sent_and_one_already_delivered_is_dropped()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Equal(LiveStep.Send, ResumeRules.OnLive(cursor, Message(6)));
        Assert.Equal(LiveStep.Drop, ResumeRules.OnLive(cursor, Message(5)));
        Assert.Equal(LiveStep.Drop, ResumeRules.OnLive(cursor, Message(2)));
    }

    [Fact]
    public void A_gap_is_filled_from_history_before_the_message_after_it()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Equal(LiveStep.FillFirst, ResumeRules.OnLive(cursor, Message(9)));

        cursor.Delivered(8); // the fill sent 6..8
        Assert.Equal(LiveStep.Send, ResumeRules.AfterFill(cursor, Message(9)));
        cursor.Delivered(10); // ... and the fill already reached 10
        Assert.Equal(LiveStep.Drop, ResumeRules.AfterFill(cursor, Message(9)));
    }

    [Fact]
    public void A_gap_history_cannot_fill_is_reported_lost_never_skipped_silently()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Equal(LiveStep.SendAfterLoss, ResumeRules.AfterFill(cursor, Message(9))); // the fill found nothing
        Assert.Equal((8UL, true), (cursor.Last, cursor.PendingUnrecoverable));
        Assert.True(cursor.TakePendingUnrecoverable());
        Assert.False(cursor.PendingUnrecoverable); // said once, on the next message written
    }

    [Fact]
    public void A_live_message_of_the_channels_new_epoch_moves_the_cursor_to_its_start_and_a_late_one_of_an_old_epoch_is_dropped()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Equal(LiveStep.AskHead, ResumeRules.OnLive(cursor, Message(3, E2)));

        Assert.False(ResumeRules.EnterNewEpoch(cursor, new ChannelHead(E1, 5), Message(3, E2))); // E2 is not the channel's epoch
        Assert.Equal((E1, 5UL), (cursor.Epoch, cursor.Last));

        Assert.True(ResumeRules.EnterNewEpoch(cursor, new ChannelHead(E2, 3), Message(3, E2)));
        Assert.Equal((E2, 0UL, true), (cursor.Epoch, cursor.Last, cursor.PendingUnrecoverable));
        Assert.Equal(LiveStep.FillFirst, ResumeRules.OnLive(cursor, Message(3, E2))); // 1 and 2 of the new epoch first
    }

    [Fact]
    public void The_head_check_fills_only_a_head_it_saw_one_round_earlier_that_the_live_path_has_not_delivered()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Null(ResumeRules.FillTarget(cursor, new ChannelHead(E1, 8), restarted: false)); // may still be on its way
        cursor.Delivered(7);
        Assert.Equal(8UL, ResumeRules.FillTarget(cursor, new ChannelHead(E1, 9), restarted: false)); // 8 is overdue, 9 may be on its way
        cursor.Delivered(9);
        Assert.Null(ResumeRules.FillTarget(cursor, new ChannelHead(E1, 9), restarted: false));
    }

    [Fact]
    public void A_restarted_channel_is_filled_to_its_head_at_once_and_a_new_epoch_entirely()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        Assert.Equal(8UL, ResumeRules.FillTarget(cursor, new ChannelHead(E1, 8), restarted: true));
        Assert.Null(ResumeRules.FillTarget(cursor, new ChannelHead(E1, 5), restarted: true));
        Assert.Equal(ulong.MaxValue, ResumeRules.FillTarget(cursor, new ChannelHead(E2, 2), restarted: false));
    }

    [Fact]
    public void A_fill_reports_trimmed_offsets_lost_and_goes_on_from_the_oldest_one_history_holds()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        var target = 40UL;
        Assert.Equal(FillStep.Jumped, ResumeRules.OnPage(cursor, Page(false, first: 20, head: 40), ref target));
        Assert.Equal((19UL, true, 40UL), (cursor.Last, cursor.PendingUnrecoverable, target));

        Assert.Equal(FillStep.Send, ResumeRules.OnPage(cursor, Page(true, first: 20, head: 40, E1, 20, 21), ref target));
        Assert.Equal(FillStep.Done, ResumeRules.OnPage(cursor, Page(true, first: 20, head: 19), ref target));
    }

    [Fact]
    public void A_fill_that_meets_a_new_epoch_fills_all_of_it_from_its_oldest_offset()
    {
        var cursor = new ChannelCursor(Channel, E1, 5);
        var target = 9UL; // an offset of the old epoch
        Assert.Equal(FillStep.Jumped, ResumeRules.OnPage(cursor, Page(false, first: 1, head: 3, E2), ref target));
        Assert.Equal((E2, 0UL, true, ulong.MaxValue), (cursor.Epoch, cursor.Last, cursor.PendingUnrecoverable, target));
    }
}
