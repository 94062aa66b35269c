using LongLived.Contracts.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace LongLived.Tests;

/// <summary>
/// Delivery batches cross from silo to gateway in their own wire form (<see cref="DeliveryBatchCodec"/>): every field
/// comes back as it was sent, and a call of many batches no longer makes Orleans record each object it reads.
/// </summary>
public sealed class DeliveryBatchCodecTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(DeliveryBatch).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public void Every_field_of_every_message_comes_back()
    {
        DeliveryBatch?[] sent =
        [
            new DeliveryBatch([
                new ChannelMessage("topic/a", 7, "epoch1", "first", 1_700_000_000_000),
                new ChannelMessage("topic/a", 8, "epoch1", "", 1_700_000_000_001) { IdempotencyKey = "key-8" },
                new ChannelMessage("topic/b", 9, "epoch2", "ünïcødé ✓ 日本", -1), // unlike its batch: its own name and epoch
                new ChannelMessage("topic/a", ulong.MaxValue, "epoch1", new string('x', 100_000), long.MaxValue),
            ], Join: (42L << 24) | 3),
            new DeliveryBatch([], Join: 0),
            null,
            new DeliveryBatch([new ChannelMessage("client/c", 1, "e", "one", 5)], Join: long.MaxValue),
        ];

        var received = Serializer.Deserialize<DeliveryBatch?[]>(Serializer.SerializeToArray(sent));

        Assert.Equal(sent.Length, received!.Length);
        for (var i = 0; i < sent.Length; i++)
        {
            Assert.Equal(sent[i]?.Join, received[i]?.Join);
            Assert.Equal(sent[i]?.Messages, received[i]?.Messages); // records: every field, the key included
        }
    }

    [Fact]
    public void A_batch_split_across_buffers_and_a_batch_in_the_earlier_object_form_are_read()
    {
        var batch = new DeliveryBatch([new ChannelMessage("topic/a", 1, "e1", "one", 10), new ChannelMessage("topic/a", 2, "e1", "two", 11)], Join: 9);

        // Orleans hands a codec the bytes as they came off the socket: in several segments.
        var bytes = Serializer.SerializeToArray(new[] { batch });
        var split = Serializer.Deserialize<DeliveryBatch[]>(Segments(bytes, 7))!;
        Assert.Equal(batch.Messages, Assert.Single(split).Messages);

        // A process of stop 35 wrote a batch as an object: gateways updated first still read what old silos send.
        var earlier = Serializer.SerializeToArray(new[] { new DeliveryBatchObjectForm(batch.Messages, batch.Join) });
        var read = Assert.Single(Serializer.Deserialize<DeliveryBatch[]>(earlier)!);
        Assert.Equal(batch.Join, read.Join);
        Assert.Equal(batch.Messages, read.Messages);
    }

    private static System.Buffers.ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var next = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null) first = next;
            else last.Next = next;
            last = next;
        }
        return new System.Buffers.ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex) => (Memory, RunningIndex) = (memory, runningIndex);
        public new Segment? Next { set => base.Next = value; }
    }

    [Fact]
    public void Reading_a_call_of_a_hundred_batches_allocates_only_what_it_returns()
    {
        // One slot's batches at 10,000 own channels: 100 channels, one message each.
        var batches = Enumerable.Range(0, 100).Select(i =>
        {
            var channel = $"client/{Guid.NewGuid():N}";
            return new DeliveryBatch([new ChannelMessage(channel, (ulong)i + 1, "0123456789ab", $"data mock for: {channel[7..]}", 1_700_000_000_000)], i);
        }).ToArray();
        var bytes = Serializer.SerializeToArray(batches);
        Serializer.Deserialize<DeliveryBatch[]>(bytes); // compiled and pooled

        var before = GC.GetAllocatedBytesForCurrentThread();
        Serializer.Deserialize<DeliveryBatch[]>(bytes);
        var perMessage = (GC.GetAllocatedBytesForCurrentThread() - before) / batches.Length;

        // What it returns is about 360 bytes a message (the batch, its array, the message, three strings). Recording
        // every object read in a dictionary made for the call added about 290 more (658 in all).
        Assert.True(perMessage < 500, $"{perMessage} bytes allocated per message read");
    }
}
