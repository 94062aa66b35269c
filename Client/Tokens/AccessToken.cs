namespace LongLived.Client.Tokens;

/// <summary>A bearer token and when it stops being valid (null: unknown, kept until a gateway refuses it).</summary>
/// <param name="Value">The token, sent as <c>authorization: Bearer &lt;value&gt;</c>.</param>
/// <param name="ExpiresAt">Its expiry.</param>
public sealed record AccessToken(string Value, DateTimeOffset? ExpiresAt = null);

/// <summary>Why the client asks for a token.</summary>
public enum TokenReason
{
    /// <summary>None is held yet for this subject.</summary>
    Initial,
    /// <summary>The held one expires within <see cref="LongLivedClientOptions.TokenRefreshBefore"/>.</summary>
    Expiring,
    /// <summary>A gateway answered UNAUTHENTICATED with the held one.</summary>
    Refused,
}

/// <summary>What a token is asked for.</summary>
/// <param name="ClientId">The client id a subscription or acknowledgement acts as; null for <see cref="LongLivedClient.PublishAsync"/>.</param>
/// <param name="Reason">Why a new token is needed.</param>
public sealed record TokenRequest(string? ClientId, TokenReason Reason);
