using System.Text;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LongLived.Emulator;

/// <summary>HS256 bearer tokens as the gateway reads them (Gateway:Auth:SigningKey). Linked into the bench's load client.</summary>
public static class JwtTokens
{
    private static readonly JsonWebTokenHandler Handler = new();

    /// <summary>sub, channels and publish (JSON arrays), exp.</summary>
    public static string Mint(string key, string subject, IEnumerable<string> channels, IEnumerable<string> publish, DateTime expires)
    {
        var now = DateTime.UtcNow;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["channels"] = channels.ToArray(), ["publish"] = publish.ToArray() },
            IssuedAt = now < expires ? now : expires.AddMinutes(-1),
            NotBefore = now < expires ? now : expires.AddMinutes(-1),
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
    }

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };
}
