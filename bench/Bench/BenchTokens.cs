using Grpc.Core;
using LongLived.Emulator;

namespace LongLived.Bench;

/// <summary>
/// BENCH_TOKEN_KEY: each subscriber's calls carry an HS256 token for its id (sub) and topics (channels), as the gateway
/// reads them with <c>Gateway:Auth:SigningKey</c> set to the same key (BENCH_GATEWAY_ARGS). Minted before the clock
/// of a scenario starts; the bare relay ignores the header, so both sides carry the same bytes. Unset: no tokens.
/// </summary>
public static class BenchTokens
{
    private static readonly string? Key = Environment.GetEnvironmentVariable("BENCH_TOKEN_KEY");

    public static Metadata? For(string id, IReadOnlyList<string> topics) =>
        string.IsNullOrEmpty(Key) ? null : JwtTokens.Bearer(JwtTokens.Mint(Key, id, topics, [], DateTime.UtcNow.AddHours(2)));
}
