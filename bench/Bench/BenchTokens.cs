using System.Text;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LongLived.Bench;

/// <summary>
/// BENCH_TOKEN_KEY: each subscriber's calls carry an HS256 token for its id (sub) and topics (channels), as the gateway
/// reads them with <c>Gateway:Auth:SigningKey</c> set to the same key (BENCH_GATEWAY_ARGS). Minted before the clock
/// of a scenario starts; the bare relay ignores the header, so both sides carry the same bytes. Unset: no tokens.
/// </summary>
public static class BenchTokens
{
    private static readonly string? Key = Environment.GetEnvironmentVariable("BENCH_TOKEN_KEY");
    private static readonly JsonWebTokenHandler Handler = new();

    public static Metadata? For(string id, IReadOnlyList<string> topics)
    {
        if (string.IsNullOrEmpty(Key)) return null;
        var now = DateTime.UtcNow;
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = id, ["channels"] = topics.ToArray() },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddHours(2),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Key)), SecurityAlgorithms.HmacSha256),
        });
        return new Metadata { { "authorization", $"Bearer {token}" } };
    }
}
