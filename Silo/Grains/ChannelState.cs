using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// A channel in grain storage (embedded mode; with Redis the history is a Redis stream): its numbering, and its
/// retained tail as of the last graceful deactivation.
/// </summary>
[GenerateSerializer, Alias("ll.ChannelState")]
public sealed class ChannelState
{
    /// <summary>Empty until the first epoch starts; a new random value whenever offsets restart from 1.</summary>
    [Id(0)] public string Epoch { get; set; } = "";
    /// <summary>Newest offset handed out (0: none yet).</summary>
    [Id(1)] public ulong Head { get; set; }
    /// <summary>The retained tail, consecutive offsets ending at <see cref="Head"/> (channel, offset and epoch implied).</summary>
    [Id(2)] public List<StoredEntry> Entries { get; set; } = [];
    /// <summary>Set while an activation runs: found set by the next activation, the last one crashed and its tail is lost.</summary>
    [Id(3)] public bool Open { get; set; }
}

/// <summary>One retained message without what every entry of a channel shares (name, epoch, consecutive offset).</summary>
[GenerateSerializer, Immutable, Alias("ll.StoredEntry")]
public sealed record StoredEntry([property: Id(0)] string Data, [property: Id(1)] long PublishedUnixMs, [property: Id(2)] string? IdempotencyKey)
{
    public static StoredEntry From(ChannelMessage m) => new(m.Data, m.PublishedUnixMs, m.IdempotencyKey);

    public ChannelMessage ToMessage(string channel, ulong offset, string epoch) =>
        new(channel, offset, epoch, Data, PublishedUnixMs) { IdempotencyKey = IdempotencyKey };
}
