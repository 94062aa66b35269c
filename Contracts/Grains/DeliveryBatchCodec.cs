using System.Buffers;
using System.Text;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;

namespace LongLived.Contracts.Grains;

/// <summary>
/// A <see cref="DeliveryBatch"/> on the wire: one length-prefixed field, not an object graph. Orleans records every object
/// it writes or reads in a call (to write a repeated one once), past 64 of them in a dictionary made per call; a call of
/// one slot's batches (100 channels, each a batch, an array, a message and three strings) grew that dictionary every time:
/// 42 % of a gateway's allocations and a third of a silo's at 10,000 own channels. This codec records nothing per batch.
/// A batch is one channel's, so its name and epoch are written once (a message that differs says so).
/// Processes of stop 35 and before wrote batches as objects, and this codec still reads that form, so a rolling update
/// that takes gateways first and then silos runs mixed without failed deliveries. An earlier process cannot read this
/// form (docs/data-path.md, stop 36).
/// </summary>
[RegisterSerializer]
public sealed class DeliveryBatchCodec : IFieldCodec<DeliveryBatch>
{
    private const byte Version = 1;
    // Per message: what differs from the batch's first message, and what is set.
    private const byte OtherChannel = 1, OtherEpoch = 2, HasKey = 4, NullData = 8;

    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, DeliveryBatch? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (value is null)
        {
            ReferenceCodec.WriteNullReference(ref writer, fieldIdDelta);
            return;
        }
        ReferenceCodec.MarkValueField(writer.Session); // a value: no reference recorded
        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(DeliveryBatch), WireType.LengthPrefixed);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxLength(value));
        try
        {
            var length = Encode(value, buffer);
            writer.WriteVarUInt32((uint)length);
            writer.Write(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public DeliveryBatch ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference) return ReferenceCodec.ReadReference<DeliveryBatch, TInput>(ref reader, field)!; // null
        if (field.WireType == WireType.TagDelimited)
        {
            var earlier = reader.Session.CodecProvider.GetCodec<DeliveryBatchObjectForm>().ReadValue(ref reader, field);
            return new DeliveryBatch(earlier!.Messages, earlier.Join);
        }
        field.EnsureWireType(WireType.LengthPrefixed);
        ReferenceCodec.MarkValueField(reader.Session);
        var length = reader.ReadVarUInt32();
        reader.EnsureAvailable(length);
        if (reader.TryReadBytes((int)length, out var bytes)) return Decode(bytes);
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            reader.ReadBytes(buffer.AsSpan(0, (int)length));
            return Decode(buffer.AsSpan(0, (int)length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int MaxLength(DeliveryBatch batch)
    {
        var length = 1 + 10 + 5; // version, join, count
        foreach (var m in batch.Messages)
        {
            length += 1 + 10 + 10 + MaxLength(m.Channel) + MaxLength(m.Epoch) + MaxLength(m.Data) + MaxLength(m.IdempotencyKey);
        }
        return length;
    }

    private static int MaxLength(string? value) => value is null ? 0 : 5 + Encoding.UTF8.GetMaxByteCount(value.Length);

    private static int Encode(DeliveryBatch batch, Span<byte> to)
    {
        var at = 0;
        to[at++] = Version;
        at += WriteVarUInt64(to[at..], (ulong)batch.Join);
        at += WriteVarUInt64(to[at..], (ulong)batch.Messages.Length);
        var first = batch.Messages.Length > 0 ? batch.Messages[0] : null;
        foreach (var m in batch.Messages)
        {
            var flags = (byte)((m.Channel != first!.Channel ? OtherChannel : 0) | (m.Epoch != first.Epoch ? OtherEpoch : 0)
                | (m.IdempotencyKey is not null ? HasKey : 0) | (m.Data is null ? NullData : 0));
            // The first message carries the batch's name and epoch; the others only where they differ.
            if (ReferenceEquals(m, first)) flags |= OtherChannel | OtherEpoch;
            to[at++] = flags;
            if ((flags & OtherChannel) != 0) at += WriteString(to[at..], m.Channel);
            if ((flags & OtherEpoch) != 0) at += WriteString(to[at..], m.Epoch);
            at += WriteVarUInt64(to[at..], m.Offset);
            at += WriteVarUInt64(to[at..], (ulong)m.PublishedUnixMs);
            if (m.Data is not null) at += WriteString(to[at..], m.Data);
            if (m.IdempotencyKey is not null) at += WriteString(to[at..], m.IdempotencyKey);
        }
        return at;
    }

    private static DeliveryBatch Decode(ReadOnlySpan<byte> from)
    {
        var at = 0;
        var version = from[at++];
        if (version != Version)
        {
            throw new SerializerException($"a delivery batch of wire version {version}, this process reads {Version}: run silos and gateways of one version");
        }
        var join = (long)ReadVarUInt64(from, ref at);
        var count = ReadVarUInt64(from, ref at);
        if (count > (ulong)from.Length) throw new SerializerException($"a delivery batch of {count} messages in {from.Length} bytes");
        var messages = new ChannelMessage[count];
        string channel = "", epoch = "";
        for (var i = 0; i < messages.Length; i++)
        {
            var flags = from[at++];
            if ((flags & OtherChannel) != 0) channel = ReadString(from, ref at);
            if ((flags & OtherEpoch) != 0) epoch = ReadString(from, ref at);
            var offset = ReadVarUInt64(from, ref at);
            var published = (long)ReadVarUInt64(from, ref at);
            var data = (flags & NullData) != 0 ? null! : ReadString(from, ref at);
            messages[i] = new ChannelMessage(channel, offset, epoch, data, published)
            {
                IdempotencyKey = (flags & HasKey) != 0 ? ReadString(from, ref at) : null,
            };
            // A message with its own name or epoch does not change the batch's for the messages after it.
            if (i == 0) continue;
            channel = messages[0].Channel;
            epoch = messages[0].Epoch;
        }
        return new DeliveryBatch(messages, join);
    }

    private static int WriteString(Span<byte> to, string value)
    {
        var length = Encoding.UTF8.GetBytes(value, to[5..]); // written after a length of up to 5 bytes, moved back below
        var prefix = WriteVarUInt64(to, (ulong)length);
        if (prefix < 5) to.Slice(5, length).CopyTo(to[prefix..]);
        return prefix + length;
    }

    private static string ReadString(ReadOnlySpan<byte> from, ref int at)
    {
        var length = (int)ReadVarUInt64(from, ref at);
        var value = Encoding.UTF8.GetString(from.Slice(at, length));
        at += length;
        return value;
    }

    private static int WriteVarUInt64(Span<byte> to, ulong value)
    {
        var at = 0;
        while (value >= 0x80)
        {
            to[at++] = (byte)(value | 0x80);
            value >>= 7;
        }
        to[at++] = (byte)value;
        return at;
    }

    private static ulong ReadVarUInt64(ReadOnlySpan<byte> from, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = from[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new SerializerException("a delivery batch with a malformed number");
    }
}

/// <summary>A delivery batch as processes of stop 35 and before wrote it (an object), read by <see cref="DeliveryBatchCodec"/>.</summary>
[GenerateSerializer, Immutable, Alias("ll.DeliveryBatch.ObjectForm")]
public sealed record DeliveryBatchObjectForm(ChannelMessage[] Messages, long Join = 0);
