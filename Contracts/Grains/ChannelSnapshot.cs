namespace LongLived.Contracts.Grains;

/// <summary>What a channel grain holds, for tests and operators: <paramref name="Gateways"/> are the joined gateway ids.</summary>
[GenerateSerializer, Immutable, Alias("ll.ChannelSnapshot")]
public sealed record ChannelSnapshot(string Channel, string Epoch, ulong Head, long Owner, IReadOnlyList<string> Gateways);
