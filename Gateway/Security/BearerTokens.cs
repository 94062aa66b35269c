using System.Text;
using LongLived.Gateway.Options;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace LongLived.Gateway.Security;

/// <summary>JwtBearer set up from Gateway:Auth (nothing is registered with auth off).</summary>
public static class BearerTokens
{
    /// <summary>HS256 needs a 256-bit key.</summary>
    public const int MinKeyBytes = 32;

    public static IServiceCollection AddBearerTokens(this IServiceCollection services, AuthOptions auth)
    {
        services.AddSingleton<CallAuthorizer>();
        if (!auth.Enabled) return services;
        var key = string.IsNullOrWhiteSpace(auth.SigningKey) ? null : Encoding.UTF8.GetBytes(auth.SigningKey);
        if (key is { Length: < MinKeyBytes })
        {
            throw new InvalidOperationException($"{AuthOptions.Section}:SigningKey is {key.Length} bytes: HS256 needs at least {MinKeyBytes}");
        }
        if (!string.IsNullOrWhiteSpace(auth.Authority) && string.IsNullOrWhiteSpace(auth.Audience))
        {
            // An identity provider signs tokens for many applications: without an audience, any of them would do here.
            throw new InvalidOperationException($"{AuthOptions.Section}:Authority needs {AuthOptions.Section}:Audience (the audience of tokens meant for this gateway)");
        }
        // No default scheme (nor the one ASP.NET Core infers from a single scheme): the authentication middleware that
        // WebApplication adds would otherwise validate every request and keep the result for its lifetime; CallAuthorizer
        // validates each call itself.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddJwtBearer(o =>
        {
            o.MapInboundClaims = false; // keep "sub" and our claims under their JWT names
            if (!string.IsNullOrWhiteSpace(auth.Authority))
            {
                o.Authority = auth.Authority;
                if (!string.IsNullOrWhiteSpace(auth.MetadataAddress)) o.MetadataAddress = auth.MetadataAddress;
                o.RequireHttpsMetadata = auth.RequireHttpsMetadata;
            }
            o.TokenValidationParameters = new TokenValidationParameters
            {
                IssuerSigningKey = key is null ? null : new SymmetricSecurityKey(key),
                // An authority names its issuer in its metadata; with a shared key only a configured issuer is checked.
                ValidateIssuer = !string.IsNullOrWhiteSpace(auth.Issuer) || !string.IsNullOrWhiteSpace(auth.Authority),
                ValidIssuer = string.IsNullOrWhiteSpace(auth.Issuer) ? null : auth.Issuer,
                ValidateAudience = !string.IsNullOrWhiteSpace(auth.Audience),
                ValidAudience = auth.Audience,
                RequireExpirationTime = true, // a stream must end some day: tokens without exp are refused
                ClockSkew = auth.ClockSkew,
                NameClaimType = "sub",
            };
        });
        return services;
    }
}
