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
        for (var waits = 0; waits < ceilings.Length; waits++)
        {
            var delays = Enumerable.Range(0, 2000).Select(_ => policy.NextDelay(Context(waits + 2, reached, reachedGateway: true, waits: waits))!.Value.TotalMilliseconds).ToArray();
            Assert.All(delays, d => Assert.InRange(d, 0, ceilings[waits]));
            // Full jitter: spread over the whole range, not bunched at its top (equal jitter) or its bottom.
            Assert.True(delays.Min() < ceilings[waits] * 0.05 && delays.Max() > ceilings[waits] * 0.95, $"after {waits} waits: {delays.Min()}..{delays.Max()} of {ceilings[waits]}");
        }
    }

    [Fact]
    public async Task Retries_made_at_once_do_not_lengthen_the_next_wait_and_a_wait_renews_the_at_once_budget()
    {
        var defaults = new FullJitterRetryPolicy { Random = new Random(7) };
        var policy = new RecordingPolicy(context => context.Attempt >= 9 ? null : defaults.NextDelay(context));
        var dead = ClientKit.Gateways(ClusterFixture.FreePort(), ClusterFixture.FreePort(), ClusterFixture.FreePort());
        await using var client = ClientKit.Client(dead, o => o.RetryPolicy = policy);

        await Assert.ThrowsAsync<RpcException>(() => ClientKit.ReadUntilAsync(client.SubscribeAsync(TestStreams.NewId("lib")), _ => false));

        var asked = policy.Asked.ToArray();
        // Refused three times (one per address): at once. The fourth waits, with the first wait's ceiling (100 ms)
        // although it is the fourth failure; the wait renews the at-once budget for three more; then the second wait.
        Assert.Equal([0, 0, 0], asked[..3].Select(a => a.Delay!.Value.TotalMilliseconds));
        Assert.Equal((1, 0), (asked[3].Context.NotReachedInARow > 3 ? 1 : 0, asked[3].Context.Waits));
        Assert.InRange(asked[3].Delay!.Value.TotalMilliseconds, 0, 100);
        Assert.Equal([0, 0, 0], asked[4..7].Select(a => a.Delay!.Value.TotalMilliseconds));
        Assert.Equal([1, 2, 3], asked[4..7].Select(a => a.Context.NotReachedInARow));
        Assert.Equal(1, asked[7].Context.Waits);
        Assert.InRange(asked[7].Delay!.Value.TotalMilliseconds, 0, 200);
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

    private static RetryContext Context(int attempt, Status status, bool reachedGateway, int notReached = 0, int addresses = 1, TimeSpan elapsed = default, int waits = 0) =>
        new("c", attempt, elapsed, status, reachedGateway, notReached, addresses, waits);
}
