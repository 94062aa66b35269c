using System.Collections.Concurrent;
using Grpc.Core;

namespace LongLived.Emulator;

/// <summary>
/// The bearer token each call carries when the gateways require one: --token as given, or with --token-key a token
/// minted per client (sub = its id, channels = its topics) and one for the publisher (publish = the topics), renewed
/// at half their lifetime and after an UNAUTHENTICATED. Without either, calls carry none.
/// </summary>
public sealed class Tokens(EmulatorSettings settings)
{
    private readonly ConcurrentDictionary<string, (Metadata Headers, DateTime RenewAt)> _minted = new(StringComparer.Ordinal);

    public string PublisherId => $"{settings.IdPrefix}publisher";

    public Metadata? ForClient(string id) => For(id, settings.Topics, []);

    public Metadata? ForPublisher() => For(PublisherId, [], settings.Topics);

    /// <summary>The gateway refused the token (expired, say): the next call gets a new one.</summary>
    public void Forget(string subject) => _minted.TryRemove(subject, out _);

    private Metadata? For(string subject, IReadOnlyList<string> channels, IReadOnlyList<string> publish)
    {
        if (!string.IsNullOrEmpty(settings.Token)) return JwtTokens.Bearer(settings.Token);
        if (string.IsNullOrEmpty(settings.TokenKey)) return null;
        var now = DateTime.UtcNow;
        if (_minted.TryGetValue(subject, out var held) && held.RenewAt > now) return held.Headers;
        var headers = JwtTokens.Bearer(JwtTokens.Mint(settings.TokenKey, subject, channels, publish, now + settings.TokenLifetime));
        _minted[subject] = (headers, now + settings.TokenLifetime / 2);
        return headers;
    }
}
