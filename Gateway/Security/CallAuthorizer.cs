using System.Security.Claims;
using Grpc.Core;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using LongLived.Gateway.Operations;

namespace LongLived.Gateway.Security;

/// <summary>
/// Who may do what on the public port (Gateway:Auth). Each call authenticates its bearer token itself instead of
/// through [Authorize], so the client gets a gRPC status with a reason (UNAUTHENTICATED: no, invalid or expired token;
/// PERMISSION_DENIED: a valid token that does not allow this) rather than a bare HTTP 401/403.
/// With auth off every call is allowed, as in the local demo.
/// The token is validated in a scope of its own, not the request's: a stream lives for hours, and the request scope's
/// handler would keep the validated token (principal, claims, parsed JSON: 6.6 KB per stream measured) as long.
/// </summary>
public sealed class CallAuthorizer(IOptions<AuthOptions> options, IServiceScopeFactory scopes, GatewayMetrics metrics)
{
    private readonly AuthOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// Subscribe as <paramref name="clientId"/> to <paramref name="topics"/>. Returns when the token expires (the stream
    /// must end then), null without auth.
    /// </summary>
    public async Task<DateTimeOffset?> SubscribeAsync(ServerCallContext context, string clientId, IEnumerable<string> topics)
    {
        if (!Enabled) return null;
        var user = await AuthenticateAsync(context);
        ActsAs(user, clientId);
        foreach (var topic in topics)
        {
            if (!Allows(user, _options.ChannelsClaim, topic)) throw Denied($"token does not allow topic \"{ChannelNames.Shorten(topic)}\" (claim \"{_options.ChannelsClaim}\")");
        }
        // exp is a JSON number (NumericDate), not always an integer. Validation required it; unreadable, the stream could
        // outlive the token, so the call is refused.
        if (!double.TryParse(user.FindFirst("exp")?.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var exp))
        {
            throw Unauthenticated("token has no readable expiry (exp)");
        }
        return DateTimeOffset.FromUnixTimeMilliseconds((long)(exp * 1000)) + _options.ClockSkew;
    }

    /// <summary>NotifyReceived and Unsubscribe: nobody acknowledges or ends another client's stream.</summary>
    public async Task ClientAsync(ServerCallContext context, string clientId)
    {
        if (!Enabled) return;
        ActsAs(await AuthenticateAsync(context), clientId);
    }

    /// <summary>Publish to <paramref name="topic"/>; returns the publisher's name for its rate limits.</summary>
    public async Task<string> PublishAsync(ServerCallContext context, string topic)
    {
        if (!Enabled) return CallLimits.Address(context);
        var user = await AuthenticateAsync(context);
        if (!Allows(user, _options.PublishClaim, topic)) throw Denied($"token does not allow publishing to \"{ChannelNames.Shorten(topic)}\" (claim \"{_options.PublishClaim}\")");
        return Subject(user);
    }

    private async Task<ClaimsPrincipal> AuthenticateAsync(ServerCallContext context)
    {
        await using var scope = scopes.CreateAsyncScope();
        var handlers = scope.ServiceProvider.GetRequiredService<IAuthenticationHandlerProvider>();
        var handler = await handlers.GetHandlerAsync(context.GetHttpContext(), JwtBearerDefaults.AuthenticationScheme)
            ?? throw new InvalidOperationException("the JwtBearer scheme is not registered");
        var result = await handler.AuthenticateAsync();
        if (result.Succeeded && Subject(result.Principal) is { Length: > 0 }) return result.Principal;
        throw Unauthenticated(result.Failure switch
        {
            null when result.Succeeded => "token has no subject (sub)",
            null => "missing bearer token: send metadata \"authorization: Bearer <JWT>\"",
            SecurityTokenExpiredException expired => $"token expired at {expired.Expires:O}: get a new one and resubscribe with your positions",
            SecurityTokenNotYetValidException => "token is not valid yet (nbf)",
            SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "token signature is not valid",
            SecurityTokenInvalidAudienceException => "token audience (aud) is not accepted",
            SecurityTokenInvalidIssuerException => "token issuer (iss) is not accepted",
            _ => "token is not valid",
        });
    }

    private void ActsAs(ClaimsPrincipal user, string clientId)
    {
        var subject = Subject(user);
        if (subject != clientId) throw Denied($"token subject \"{ChannelNames.Shorten(subject)}\" may not act as client id \"{ChannelNames.Shorten(clientId)}\"");
    }

    private static string Subject(ClaimsPrincipal user) => user.FindFirst("sub")?.Value ?? "";

    /// <summary>Each claim value (a JSON array gives one claim per item) is a name, a prefix ending in "*", or "*".</summary>
    private static bool Allows(ClaimsPrincipal user, string claim, string name) =>
        user.FindAll(claim).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Any(pattern =>
            pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : pattern == name);

    private RpcException Unauthenticated(string reason)
    {
        metrics.Rejected("unauthenticated");
        return new RpcException(new Status(StatusCode.Unauthenticated, reason));
    }

    private RpcException Denied(string message)
    {
        metrics.Rejected("permission-denied");
        return new RpcException(new Status(StatusCode.PermissionDenied, message));
    }
}
