namespace LongLived.Contracts.Grains;

/// <summary>
/// The answer to <see cref="IClientGrain.Subscribe"/>. Not <paramref name="Accepted"/>: a newer Subscribe of this client
/// id is already live (this call was delayed or abandoned), and nothing else happened. <paramref name="Fence"/> grows
/// with every accepted session of the client id (a session whose fence is below the own channel's
/// <see cref="ChannelHead.Owner"/> has been replaced and must end). <paramref name="Head"/>: the own channel's head as
/// the join left it. <paramref name="From"/>: the position the history was read after (the client's own, or else the one
/// it last acknowledged; null: neither, the session starts at the head), and <paramref name="Page"/> that read.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.SubscribeGrant")]
public sealed record SubscribeGrant(bool Accepted, long Fence, ChannelHead Head, ChannelPosition? From, HistoryPage? Page);
