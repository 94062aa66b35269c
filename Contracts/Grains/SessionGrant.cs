namespace LongLived.Contracts.Grains;

/// <summary>
/// The client grain's answer to Connect. <paramref name="Fence"/> grows with every accepted session of the client id (a
/// session whose fence is below the client channel's <see cref="ChannelHead.Owner"/> has been replaced and must end).
/// Not <paramref name="Accepted"/>: a newer Subscribe of this id is already live (this call was delayed or abandoned).
/// <paramref name="ResumeFrom"/>: the client's acknowledged position in its own channel, for a Subscribe without one.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.SessionGrant")]
public sealed record SessionGrant(bool Accepted, long Fence, ChannelPosition? ResumeFrom);
