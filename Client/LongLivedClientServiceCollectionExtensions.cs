using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LongLived.Client;

/// <summary>Registers a <see cref="LongLivedClient"/> with dependency injection.</summary>
public static class LongLivedClientServiceCollectionExtensions
{
    /// <summary>
    /// One <see cref="LongLivedClient"/> for the application, made on first use from the
    /// <see cref="LongLivedClientOptions"/> (configure them here, or bind them: <c>services.Configure&lt;LongLivedClientOptions&gt;(config.GetSection("LongLived:Client"))</c>),
    /// logging through the application's <see cref="ILoggerFactory"/>, disposed with the container.
    /// </summary>
    public static IServiceCollection AddLongLivedClient(this IServiceCollection services, Action<LongLivedClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<LongLivedClientOptions>();
        if (configure is not null) options.Configure(configure);
        services.TryAddSingleton(provider => new LongLivedClient(
            provider.GetRequiredService<IOptions<LongLivedClientOptions>>().Value, provider.GetService<ILoggerFactory>()));
        return services;
    }
}
