namespace LongLived.Gateway.Options;

/// <summary>
/// Section "Gateway:Auth": bearer tokens (JWT) on the public gRPC port. Off unless a signing key or an authority is set.
/// A token's <c>sub</c> is the client id it may subscribe, acknowledge and unsubscribe as; its <see cref="ChannelsClaim"/>
/// lists the topics it may join and its <see cref="PublishClaim"/> those it may publish to (exact names, a prefix ending
/// in <c>*</c>, or <c>*</c> for all).
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Gateway:Auth";

    /// <summary>Shared HMAC key (HS256), at least 32 bytes of UTF-8 text.</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect authority: its JWKS (discovered from its metadata) validates the tokens.</summary>
    public string? Authority { get; set; }

    /// <summary>Metadata document, when it is not at the authority's /.well-known/openid-configuration.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>False only for a development authority served over http.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Required <c>iss</c>; empty: not checked.</summary>
    public string? Issuer { get; set; }

    /// <summary>Required <c>aud</c>; empty: not checked (only with a signing key: an authority needs one).</summary>
    public string? Audience { get; set; }

    public string ChannelsClaim { get; set; } = "channels";

    public string PublishClaim { get; set; } = "publish";

    /// <summary>Tolerated clock difference for <c>exp</c>/<c>nbf</c>; a stream ends when its token expires (plus this).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => !string.IsNullOrWhiteSpace(SigningKey) || !string.IsNullOrWhiteSpace(Authority);
}
