using Grpc.Core;

namespace LongLived.Client.Retry;

/// <summary>
/// The default policy. A call refused before reaching a gateway is retried at once, up to once per address: the
/// balancer's next pick is another gateway, and a killed gateway's address can stay in the round robin for a while. The
/// first retry after a call that did reach a gateway is immediate too (its clients move at once when a gateway dies);
/// after that, full jitter: a uniform delay in [0, min(<see cref="Cap"/>, <see cref="Base"/>·2^(attempt-2))], so the
/// clients of a dead gateway spread out instead of arriving together. Gives up only after <see cref="MaxElapsed"/>, if set.
/// </summary>
public sealed class FullJitterRetryPolicy : IRetryPolicy
{
    /// <summary>The delay ceiling of the second retry; it doubles per attempt up to <see cref="Cap"/>.</summary>
    public TimeSpan Base { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest delay ceiling.</summary>
    public TimeSpan Cap { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Give up once failures have lasted this long; null (the default): never.</summary>
    public TimeSpan? MaxElapsed { get; init; }

    /// <summary>Where the jitter comes from (tests pass a seeded one).</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <inheritdoc />
    public TimeSpan? NextDelay(RetryContext context)
    {
        if (MaxElapsed is { } limit && context.Elapsed >= limit) return null;
        if (!context.ReachedGateway && context.Status.StatusCode == StatusCode.Unavailable && context.NotReachedInARow <= context.AddressCount)
        {
            return TimeSpan.Zero;
        }
        return TimeSpan.FromMilliseconds(Ceiling(context.Attempt).TotalMilliseconds * Random.NextDouble());
    }

    /// <summary>The most the delay after failure <paramref name="attempt"/> can be (zero for the first).</summary>
    public TimeSpan Ceiling(int attempt)
    {
        if (attempt <= 1) return TimeSpan.Zero;
        var ceiling = Base.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 2, 30));
        return TimeSpan.FromMilliseconds(Math.Min(Cap.TotalMilliseconds, ceiling));
    }
}
