using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>Persistent state of a channel: its numbering and its bounded history.</summary>
[GenerateSerializer, Alias("ll.ChannelState")]
public sealed class ChannelState
{
    /// <summary>Empty until the numbering starts; a new random value whenever numbering restarts from 1.</summary>
    [Id(0)] public string Epoch { get; set; } = "";
    /// <summary>Newest offset handed out (0: none yet).</summary>
    [Id(1)] public ulong Head { get; set; }
    /// <summary>The retained tail, consecutive offsets ending at <see cref="Head"/>.</summary>
    [Id(2)] public List<ChannelMessage> History { get; set; } = [];
}
