using System.Collections.Concurrent;
using Grpc.Core;
using LongLived.Client;
using LongLived.Client.Retry;

namespace LongLived.Tests.ClientLibrary;

/// <summary>The retry policy: its context, giving up, and the default's jitter.</summary>
public sealed class ClientRetryTests
{
    [Fact]
    public async Task The_retry_policy_sees_its_context_and_a_null_delay_ends_the_subscription()
    {
        var policy = new RecordingPolicy(context => context.Attempt < 3 ? TimeSpan.Zero : null);
        var deadAddresses = ClientKit.Gateways(ClusterFixture.FreePort(), ClusterFixture.FreePort());
        await using var client = ClientKit.Client(deadAddresses, o => o.RetryPolicy = policy);
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        var reconnecting = new ConcurrentQueue<ReconnectingEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);
        client.Reconnecting += (_, e) => reconnecting.Enqueue(e);
        var id = TestStreams.NewId("lib");

        var failure = await Assert.ThrowsAsync<RpcException>(() => ClientKit.ReadUntilAsync(client.SubscribeAsync(id), _ => false));

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        var asked = policy.Asked.Select(a => a.Context).ToArray();
        Assert.Equal([1, 2, 3], asked.Select(c => c.Attempt));
        Assert.All(asked, c =>
        {
            Assert.Equal(id, c.ClientId);
            Assert.Equal(StatusCode.Unavailable, c.Status.StatusCode);
            Assert.False(c.ReachedGateway, $"nothing listens there, yet reached: {c.Status}");
            Assert.Equal(2, c.AddressCount);
        });
        Assert.Equal([1, 2, 3], asked.Select(c => c.NotReachedInARow));
        Assert.True(asked[2].Elapsed >= asked[0].Elapsed);
        Assert.Equal(2, reconnecting.Count); // the third failure was not retried
        var end = Assert.Single(closed);
        Assert.Equal(CloseReason.GaveUp, end.Reason);
        Assert.Same(failure, end.Error);
    }

    [Fact]
    public void Full_jitter_stays_within_its_doubling_capped_ceiling()
    {
        var policy = new FullJitterRetryPolicy { Base = TimeSpan.FromMilliseconds(100), Cap = TimeSpan.FromSeconds(2), Random = new Random(1) };
        var reached = new Status(StatusCode.Unavailable, "gateway draining");

        Assert.Equal(TimeSpan.Zero, policy.NextDelay(Context(1, reached, reachedGateway: true)));
        double[] ceilings = [100, 200, 400, 800, 1600, 2000, 2000];
        for (var i = 0; i < ceilings.Length; i++)
        {
            var delays = Enumerable.Range(0, 2000).Select(_ => policy.NextDelay(Context(i + 2, reached, reachedGateway: true))!.Value.TotalMilliseconds).ToArray();
            Assert.All(delays, d => Assert.InRange(d, 0, ceilings[i]));
            // Full jitter: spread over the whole range, not bunched at its top (equal jitter) or its bottom.
            Assert.True(delays.Min() < ceilings[i] * 0.05 && delays.Max() > ceilings[i] * 0.95, $"attempt {i + 2}: {delays.Min()}..{delays.Max()} of {ceilings[i]}");
        }
    }

    [Fact]
    public void A_refused_connection_is_retried_at_once_once_per_address_then_backs_off()
    {
        var policy = new FullJitterRetryPolicy { Base = TimeSpan.FromSeconds(1), Random = new Random(2) };
        var refused = new Status(StatusCode.Unavailable, "Error starting gRPC call");

        Assert.All(Enumerable.Range(1, 3), n => Assert.Equal(TimeSpan.Zero, policy.NextDelay(Context(n + 1, refused, reachedGateway: false, notReached: n, addresses: 3))));
        Assert.True(policy.NextDelay(Context(5, refused, reachedGateway: false, notReached: 4, addresses: 3)) > TimeSpan.Zero);
        // A token provider that fails has not reached a gateway either, but another address will not help it.
        Assert.True(policy.NextDelay(Context(3, new Status(StatusCode.Unauthenticated, "provider"), reachedGateway: false, notReached: 1, addresses: 3)) > TimeSpan.Zero);
    }

    [Fact]
    public void The_default_policy_gives_up_only_after_its_limit()
    {
        var policy = new FullJitterRetryPolicy { MaxElapsed = TimeSpan.FromMinutes(1) };
        var status = new Status(StatusCode.Unavailable, "down");

        Assert.NotNull(policy.NextDelay(Context(50, status, reachedGateway: true, elapsed: TimeSpan.FromSeconds(59))));
        Assert.Null(policy.NextDelay(Context(51, status, reachedGateway: true, elapsed: TimeSpan.FromSeconds(60))));
        Assert.NotNull(new FullJitterRetryPolicy().NextDelay(Context(10_000, status, reachedGateway: true, elapsed: TimeSpan.FromDays(1))));
    }

    private static RetryContext Context(int attempt, Status status, bool reachedGateway, int notReached = 0, int addresses = 1, TimeSpan elapsed = default) =>
        new("c", attempt, elapsed, status, reachedGateway, notReached, addresses);
}
