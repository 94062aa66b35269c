namespace LongLived.Client.Retry;

/// <summary>Decides how long to wait before the next attempt after a failure.</summary>
public interface IRetryPolicy
{
    /// <summary>The delay before the next attempt; null to give up (the subscription or call then throws).</summary>
    TimeSpan? NextDelay(RetryContext context);
}
