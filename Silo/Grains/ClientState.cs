using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>What a client's own channel grain stores of the client (<see cref="ClientSession"/>).</summary>
[GenerateSerializer, Alias("ll.ClientState")]
public sealed class ClientState
{
    [Id(0)] public SessionInfo? Session { get; set; }
    [Id(1)] public DateTimeOffset? ConnectedAt { get; set; }
    [Id(2)] public List<string> Topics { get; set; } = [];
    /// <summary>Null until the first acknowledgement (memory per client).</summary>
    [Id(3)] public Dictionary<string, ChannelPosition>? Acknowledged { get; set; }
    [Id(4)] public long Notifications { get; set; }
    [Id(5)] public int Sessions { get; set; }
    /// <summary>The fence of the newest session or Unsubscribe (see ClientSession.NewFence).</summary>
    [Id(6)] public long Fence { get; set; }
    /// <summary>Where the live session started in the own channel, and how many position-less acknowledgements followed.</summary>
    [Id(7)] public ChannelPosition? SessionStart { get; set; }
    [Id(8)] public long AcksSinceStart { get; set; }
    /// <summary>When the live session's call reached its gateway, on this grain's clock (orders Subscribes).</summary>
    [Id(9)] public DateTimeOffset? SessionArrivedAt { get; set; }
    /// <summary>The fence is an Unsubscribe's, not a session's.</summary>
    [Id(10)] public bool FenceLeft { get; set; }
}
