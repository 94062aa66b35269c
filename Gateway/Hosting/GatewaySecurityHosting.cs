using LongLived.Gateway.Options;
using LongLived.Gateway.Security;
using LongLived.Hosting;

namespace LongLived.Gateway.Hosting;

public static class GatewaySecurityHosting
{
    /// <summary>Who may call (Gateway:Auth: bearer tokens, off by default) and how much (Gateway:Limits: quotas per caller and client id).</summary>
    public static WebApplicationBuilder AddGatewaySecurity(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.Section));
        builder.Services.Configure<LimitOptions>(builder.Configuration.GetSection(LimitOptions.Section));
        builder.Services.AddBearerTokens(builder.Configuration.Read<AuthOptions>(AuthOptions.Section));
        builder.Services.AddSingleton<CallLimits>();
        return builder;
    }
}
