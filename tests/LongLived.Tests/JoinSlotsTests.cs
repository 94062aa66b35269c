using LongLived.Gateway.Delivery;

namespace LongLived.Tests;

/// <summary>
/// The hub finds a delivery batch's channel by the join id it carries: a closed channel's slot is reused, and a batch
/// still on its way for the old join must not land in the channel that took the slot.
/// </summary>
public sealed class JoinSlotsTests
{
    [Fact]
    public void A_reused_slot_answers_only_to_its_new_join()
    {
        var slots = new JoinSlots();
        var first = slots.Make("a");
        var second = slots.Make("b");
        Assert.Same(first, slots.Find(first.JoinId));
        Assert.Same(second, slots.Find(second.JoinId));

        slots.Release(first);
        Assert.Null(slots.Find(first.JoinId));

        var reused = slots.Make("c");
        Assert.Equal(first.Slot, reused.Slot);
        Assert.True(reused.JoinId > second.JoinId, "join ids only grow");
        Assert.Null(slots.Find(first.JoinId));
        Assert.Same(reused, slots.Find(reused.JoinId));
        Assert.Null(slots.Find(0)); // a batch that names no join
    }

    [Fact]
    public void Slots_grow_past_the_first_table()
    {
        var slots = new JoinSlots();
        var made = Enumerable.Range(0, 5000).Select(i => slots.Make($"c{i}")).ToList();
        Assert.All(made, entry => Assert.Same(entry, slots.Find(entry.JoinId)));
        Assert.Equal(5000, made.Select(e => e.Slot).Distinct().Count());
    }
}
