using LongLived.Gateway.Resume;
using LongLived.Gateway.Sessions;

namespace LongLived.Gateway.Hosting;

public static class SessionsHosting
{
    /// <summary>The live sessions, their life at the client grain, their relay (resume, then live), and their end when the cluster stays away.</summary>
    public static WebApplicationBuilder AddSessions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<SessionLifecycle>();
        builder.Services.AddSingleton<SessionRelay>();
        builder.Services.AddHostedService<ClusterLossWatch>();
        return builder;
    }
}
