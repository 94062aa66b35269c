using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using System.Security.Cryptography;
using System.Text;

namespace LongLived.Hosting;

/// <summary>
/// Operator endpoints (drain, metrics, dashboard): with an admin token configured, every caller must send
/// "Authorization: Bearer &lt;admin token&gt;" (a proxy or sidecar on the host makes outside callers look like loopback), or
/// HTTP Basic with the token as password (any user name), which a browser asks for when it opens the dashboard;
/// without one, they answer loopback callers only. Shared by the gateway's admin port and the silo's HTTP port, which
/// bind to loopback unless told to listen on every interface. /healthz stays open: orchestrators probe it and it tells
/// nothing.
/// </summary>
public static class AdminAccess
{
    public static IApplicationBuilder UseAdminAccess(this IApplicationBuilder app, string? token, string setting, Func<HttpContext, bool> applies) =>
        app.Use((context, next) =>
        {
            if (!applies(context) || context.Request.Path.StartsWithSegments("/healthz")) return next(context);
            if (string.IsNullOrEmpty(token))
            {
                if (IsLoopback(context.Connection.RemoteIpAddress)) return next(context);
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return context.Response.WriteAsync($"operator endpoints answer loopback callers only; set {setting} to allow others with a bearer token\n");
            }
            // Basic only where a browser reads: a browser sends cached Basic credentials with any request a page makes,
            // so the state-changing endpoints (/server/stop, /server/start) take the Bearer token only.
            if (!Matches(context.Request.Headers.Authorization.ToString(), token, allowBasic: !context.Request.Path.StartsWithSegments("/server")))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = new Microsoft.Extensions.Primitives.StringValues(["Bearer", "Basic realm=\"LongLived operator\", charset=\"UTF-8\""]);
                return context.Response.WriteAsync("send \"Authorization: Bearer <admin token>\", or sign in with any user name and the admin token as password\n");
            }
            return next(context);
        });

    private static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static bool Matches(string header, string token, bool allowBasic)
    {
        if (header.StartsWith("Bearer ", StringComparison.Ordinal)) return SameSecret(header["Bearer ".Length..].Trim(), token);
        if (!allowBasic || !header.StartsWith("Basic ", StringComparison.Ordinal)) return false;
        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = credentials.IndexOf(':');
            return colon >= 0 && SameSecret(credentials[(colon + 1)..], token);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool SameSecret(string given, string token) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));
}
