using Grpc.Core;

namespace LongLived.Client;

/// <summary>A Subscribe call was accepted and its resume decided (from the <c>ll-resume-*</c> response headers).</summary>
/// <param name="ClientId">The subscription's client id.</param>
/// <param name="SessionId">The gateway's id for this session (<c>ll-session</c>).</param>
/// <param name="Recovered">Channels whose position was resumed without loss.</param>
/// <param name="Unrecoverable">Channels whose messages after the position are lost (their next message says so too).</param>
/// <param name="IsResume">False for the first call of the subscription.</param>
public sealed record SubscribedEventArgs(string ClientId, string? SessionId, IReadOnlyList<string> Recovered, IReadOnlyList<string> Unrecoverable, bool IsResume);

/// <summary>A subscription's call failed and will be made again after <see cref="Delay"/>.</summary>
/// <param name="ClientId">The subscription's client id.</param>
/// <param name="Status">Why the call ended.</param>
/// <param name="Attempt">Failures in a row.</param>
/// <param name="Delay">The wait before the next attempt.</param>
public sealed record ReconnectingEventArgs(string ClientId, Status Status, int Attempt, TimeSpan Delay);

/// <summary>Why a channel's position had to be given up.</summary>
public enum ResetReason
{
    /// <summary>The gateway could not fill the break (position older than the history, or its epoch ended).</summary>
    Unrecoverable,
    /// <summary>A message came in another epoch than the position without the gateway flagging it.</summary>
    EpochChanged,
}

/// <summary>A channel continues after a loss: messages after <see cref="Previous"/> up to <see cref="Next"/> are gone.</summary>
/// <param name="ClientId">The subscription's client id.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Previous">The position before the loss (null if none was held).</param>
/// <param name="Next">The first message's position after it.</param>
/// <param name="Reason">What showed the loss.</param>
public sealed record ChannelResetEventArgs(string ClientId, string Channel, ChannelPosition? Previous, ChannelPosition Next, ResetReason Reason);

/// <summary>How a subscription ended.</summary>
public enum CloseReason
{
    /// <summary>Unsubscribe ended it (the gateway ended the call with OK).</summary>
    Unsubscribed,
    /// <summary>The caller stopped enumerating or cancelled.</summary>
    Stopped,
    /// <summary>A status retrying cannot change (PERMISSION_DENIED, INVALID_ARGUMENT, ABORTED: replaced by a newer
    /// subscription of the same id).</summary>
    Refused,
    /// <summary>The retry policy gave up.</summary>
    GaveUp,
}

/// <summary>A subscription ended; its positions are saved.</summary>
/// <param name="ClientId">The subscription's client id.</param>
/// <param name="Reason">Why.</param>
/// <param name="Error">The exception the enumeration throws, if any.</param>
public sealed record ClosedEventArgs(string ClientId, CloseReason Reason, Exception? Error);

/// <summary>An automatic acknowledgement could not be delivered (the gateway keeps the earlier one; a later one covers it).</summary>
/// <param name="ClientId">The client id.</param>
/// <param name="Status">The call's status.</param>
public sealed record AcknowledgeFailedEventArgs(string ClientId, Status Status);
