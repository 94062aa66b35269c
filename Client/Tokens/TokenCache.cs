using System.Collections.Concurrent;
using Grpc.Core;

namespace LongLived.Client.Tokens;

/// <summary>
/// The token each subject's calls carry: asked of the provider once, kept until it nears its expiry or a gateway refuses
/// it; concurrent callers of one subject share one request to the provider.
/// </summary>
internal sealed class TokenCache(Func<TokenRequest, CancellationToken, ValueTask<AccessToken>>? provider, TimeSpan refreshBefore, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<AccessToken>>> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _refused = new(StringComparer.Ordinal);

    /// <summary>The headers for a call as <paramref name="clientId"/>; null without a provider.</summary>
    public async ValueTask<Metadata?> HeadersAsync(string? clientId, CancellationToken cancellationToken)
    {
        if (provider is null) return null;
        var key = clientId ?? "";
        for (var tries = 0; ; tries++)
        {
            var held = _held.GetOrAdd(key, k => Fetch(clientId, _refused.TryRemove(k, out _) ? TokenReason.Refused : TokenReason.Initial));
            AccessToken token;
            try
            {
                token = await held.Value.WaitAsync(cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                _held.TryRemove(new(key, held)); // the next call asks again
                throw;
            }
            if (tries == 0 && token.ExpiresAt is { } expires && expires - refreshBefore <= time.GetUtcNow())
            {
                if (_held.TryUpdate(key, Fetch(clientId, TokenReason.Expiring), held)) continue;
            }
            return new Metadata { { "authorization", $"Bearer {token.Value}" } };
        }
    }

    /// <summary>A gateway refused the token <paramref name="clientId"/>'s call carried: the next call gets a new one.</summary>
    public void Refused(string? clientId)
    {
        var key = clientId ?? "";
        _refused[key] = true;
        _held.TryRemove(key, out _);
    }

    private Lazy<Task<AccessToken>> Fetch(string? clientId, TokenReason reason) =>
        new(() => FetchAsync(clientId, reason), LazyThreadSafetyMode.ExecutionAndPublication);

    private async Task<AccessToken> FetchAsync(string? clientId, TokenReason reason)
    {
        try
        {
            var token = await provider!(new TokenRequest(clientId, reason), CancellationToken.None);
            if (string.IsNullOrEmpty(token?.Value)) throw new InvalidOperationException("the token provider returned no token");
            return token;
        }
        catch (Exception ex)
        {
            throw new TokenProviderException(ex);
        }
    }
}

/// <summary>The token provider failed; the call was not made. Retried with backoff like an unreachable gateway.</summary>
public sealed class TokenProviderException(Exception inner) : Exception($"the token provider failed: {inner.Message}", inner)
{
    /// <summary>How the failure is reported (retry policy, events): UNAUTHENTICATED, with this message.</summary>
    public Status Status => new(StatusCode.Unauthenticated, Message);
}
