using System.Collections.Concurrent;
using Grpc.Core;
using LongLived.Client;
using LongLived.Client.Tokens;
using LongLived.Emulator;

namespace LongLived.Tests.ClientLibrary;

/// <summary>The token provider against a gateway that requires tokens (Gateway:Auth with an HS256 key).</summary>
public sealed class ClientTokenTests(AuthCluster auth) : IClassFixture<AuthCluster>
{
    private string Address => $"http://127.0.0.1:{auth.Cluster.Port}";

    [Fact]
    public async Task A_token_is_kept_renewed_before_its_expiry_and_replaced_after_UNAUTHENTICATED()
    {
        var id = TestStreams.NewId("lib");
        var topic = TestStreams.NewId("lib-topic");
        var asked = new ConcurrentQueue<TokenRequest>();
        await using var client = ClientKit.Client(Address, o =>
        {
            o.TokenRefreshBefore = TimeSpan.FromSeconds(2);
            o.TokenProvider = (request, _) =>
            {
                asked.Enqueue(request);
                var now = DateTime.UtcNow;
                return ValueTask.FromResult(request switch
                {
                    // The first token of the client is signed with a key the gateway does not know: refused.
                    { ClientId: not null, Reason: TokenReason.Initial } => new AccessToken(JwtTokens.Mint("a-key-the-gateway-does-not-know-at-all", id, [topic], [], now.AddMinutes(5))),
                    { ClientId: not null } => new AccessToken(JwtTokens.Mint(AuthCluster.Key, id, [topic], [], now.AddMinutes(5)), now.AddMinutes(5)),
                    // The publisher's token lives 3 s: within 2 s of its end it is renewed before a call.
                    _ => new AccessToken(JwtTokens.Mint(AuthCluster.Key, "publisher", [], [topic], now.AddSeconds(3)), now.AddSeconds(3)),
                });
            };
        });

        var first = await client.PublishAsync(topic, "before");
        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(id, [topic]), got => got.Count(m => m.Channel == ChannelNames.OwnChannel(id)) >= 5);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the publisher's token is now within 2 s of its expiry
        var second = await client.PublishAsync(topic, "after");
        var third = await client.PublishAsync(topic, "again");

        Assert.Equal([first.Offset + 1, first.Offset + 2], new[] { second.Offset, third.Offset });
        Assert.Equal([TokenReason.Initial, TokenReason.Refused], asked.Where(r => r.ClientId == id).Select(r => r.Reason));
        Assert.Equal([TokenReason.Initial, TokenReason.Expiring], asked.Where(r => r.ClientId is null).Select(r => r.Reason));
        ClientKit.AssertConsecutive(read, ChannelNames.OwnChannel(id));
    }

    [Fact]
    public async Task A_failing_token_provider_is_asked_again_with_backoff()
    {
        var id = TestStreams.NewId("lib");
        var calls = 0;
        var policy = new RecordingPolicy();
        await using var client = ClientKit.Client(Address, o =>
        {
            o.RetryPolicy = policy;
            o.TokenProvider = (_, _) => Interlocked.Increment(ref calls) <= 3
                ? throw new HttpRequestException("identity provider unreachable")
                : ValueTask.FromResult(new AccessToken(JwtTokens.Mint(AuthCluster.Key, id, [], [], DateTime.UtcNow.AddMinutes(5))));
        });

        await ClientKit.ReadUntilAsync(client.SubscribeAsync(id), got => got.Count >= 2);

        var failures = policy.Asked.Take(3).ToArray();
        Assert.Equal(4, calls);
        Assert.All(failures, f =>
        {
            Assert.Equal(StatusCode.Unauthenticated, f.Context.Status.StatusCode);
            Assert.Contains("identity provider unreachable", f.Context.Status.Detail);
            Assert.False(f.Context.ReachedGateway);
        });
        Assert.Equal([1, 2, 3], failures.Select(f => f.Context.Attempt));
        // The default policy backs off after the first retry instead of asking the failing provider at once again.
        Assert.All(failures.Skip(1), f => Assert.True(f.Delay > TimeSpan.Zero, $"attempt {f.Context.Attempt}: {f.Delay}"));
    }

    [Fact]
    public async Task A_subscription_its_token_does_not_allow_ends_with_PERMISSION_DENIED()
    {
        var id = TestStreams.NewId("lib");
        await using var client = ClientKit.Client(Address, o => o.TokenProvider = (_, _) =>
            ValueTask.FromResult(new AccessToken(JwtTokens.Mint(AuthCluster.Key, id, ["allowed"], [], DateTime.UtcNow.AddMinutes(5)))));
        var closed = new ConcurrentQueue<ClosedEventArgs>();
        client.Closed += (_, e) => closed.Enqueue(e);

        var refused = await Assert.ThrowsAsync<RpcException>(() => ClientKit.ReadUntilAsync(client.SubscribeAsync(id, ["not-allowed"]), _ => false));

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(CloseReason.Refused, Assert.Single(closed).Reason);
    }
}
