using System.Collections.Concurrent;
using System.Text;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LongLived.Emulator;

/// <summary>
/// The bearer token each call carries when the gateways require one: --token as given, or with --token-key a token
/// minted per client (sub = its id, channels = its topics) and one for the publisher (publish = the topics), renewed
/// at half their lifetime and after an UNAUTHENTICATED. Without either, calls carry none.
/// </summary>
public sealed class Tokens(EmulatorSettings settings)
{
    private readonly ConcurrentDictionary<string, (Metadata Headers, DateTime RenewAt)> _minted = new(StringComparer.Ordinal);
    private static readonly JsonWebTokenHandler Handler = new();

    public string PublisherId => $"{settings.IdPrefix}publisher";

    public Metadata? ForClient(string id) => For(id, settings.Topics, []);

    public Metadata? ForPublisher() => For(PublisherId, [], settings.Topics);

    /// <summary>The gateway refused the token (expired, say): the next call gets a new one.</summary>
    public void Forget(string subject) => _minted.TryRemove(subject, out _);

    private Metadata? For(string subject, IReadOnlyList<string> channels, IReadOnlyList<string> publish)
    {
        if (!string.IsNullOrEmpty(settings.Token)) return Bearer(settings.Token);
        if (string.IsNullOrEmpty(settings.TokenKey)) return null;
        var now = DateTime.UtcNow;
        if (_minted.TryGetValue(subject, out var held) && held.RenewAt > now) return held.Headers;
        var headers = Bearer(Mint(settings.TokenKey, subject, channels, publish, now + settings.TokenLifetime));
        _minted[subject] = (headers, now + settings.TokenLifetime / 2);
        return headers;
    }

    /// <summary>An HS256 token as the gateway reads it: sub, channels and publish (JSON arrays), exp.</summary>
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
