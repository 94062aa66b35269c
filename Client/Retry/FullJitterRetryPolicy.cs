using Grpc.Core;

namespace LongLived.Client.Retry;

/// <summary>
/// The default policy. A call refused before reaching a gateway is retried at once, up to once per address between two
/// waits: the balancer's next pick is another gateway, and a killed gateway's address can stay in the round robin for a
/// while. The first failure of a row is retried at once too (a dead gateway's clients move at once); after that, full
/// jitter: a uniform delay in [0, min(<see cref="Cap"/>, <see cref="Base"/>·2^waits)], where waits counts the delays
/// this row already had, so the clients of a dead gateway spread out instead of arriving together, and retries made at
/// once do not lengthen the next wait. Gives up only after <see cref="MaxElapsed"/>, if set.
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
        if (context.Attempt <= 1) return TimeSpan.Zero;
        return TimeSpan.FromMilliseconds(Ceiling(context.Waits).TotalMilliseconds * Random.NextDouble());
    }

    /// <summary>The most the next delay can be after <paramref name="waits"/> earlier waits in the row.</summary>
    public TimeSpan Ceiling(int waits) =>
        TimeSpan.FromMilliseconds(Math.Min(Cap.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, Math.Clamp(waits, 0, 30))));
}
