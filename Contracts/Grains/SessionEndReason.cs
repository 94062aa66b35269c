namespace LongLived.Contracts.Grains;

/// <summary>Why a client grain ends a live session on a gateway.</summary>
public enum SessionEndReason
{
    /// <summary>A newer Subscribe for the same client id won.</summary>
    Replaced,
    /// <summary>The client called Unsubscribe.</summary>
    Unsubscribed,
}
