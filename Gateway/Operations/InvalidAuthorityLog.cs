using Microsoft.Extensions.Logging.Abstractions;

namespace LongLived.Gateway.Operations;

/// <summary>
/// Kestrel resets an HTTP/2 request whose <c>:authority</c> is not a valid host (RST_STREAM PROTOCOL_ERROR) before any
/// application code runs, has no setting to accept it, and says so only at Debug. gRPC C-core clients (Python, Ruby,
/// PHP, C++) and older grpc-go given a multi-address target (<c>ipv4:10.0.0.1:7071,10.0.0.2:7071</c>) send the whole list
/// as the authority, so they fail without a trace on the server. This logger provider listens to that one Kestrel event
/// and turns it into a Warning naming the authority and the fix (at most one per <see cref="Interval"/>) and the metric
/// <c>longlived_gateway_calls_rejected_total{reason="invalid-authority"}</c>.
/// </summary>
public sealed class InvalidAuthorityLog(IServiceProvider services) : ILoggerProvider
{
    /// <summary>Kestrel's category for HTTP/2 stream errors; this provider is enabled for it only, at Debug.</summary>
    public const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel.Http2";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private const int StreamResetAbort = 35; // KestrelTrace "Http2StreamResetAbort"
    private const string InvalidHost = "Invalid Host header: '";

    private readonly object _gate = new();
    private DateTimeOffset _nextWarning;
    private long _suppressed;
    private ILogger? _logger;
    private GatewayMetrics? _metrics;

    public ILogger CreateLogger(string categoryName) => categoryName == KestrelCategory ? new Listener(this) : NullLogger.Instance;

    public void Dispose() { }

    private void Refused(string authority)
    {
        // Resolved at the first refusal: the logger factory is being built when this provider is created.
        _metrics ??= services.GetRequiredService<GatewayMetrics>();
        _logger ??= services.GetRequiredService<ILoggerFactory>().CreateLogger<InvalidAuthorityLog>();
        _metrics.Rejected("invalid-authority");
        long suppressed;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            if (now < _nextWarning)
            {
                _suppressed++;
                return;
            }
            _nextWarning = now + Interval;
            suppressed = _suppressed;
            _suppressed = 0;
        }
        _logger.LogWarning("Refused an HTTP/2 call whose :authority \"{Authority}\" is not a host[:port] (Kestrel resets it with PROTOCOL_ERROR; {Suppressed} more since the last warning). gRPC C-core clients (Python, Ruby, PHP, C++) and grpc-go before 1.39 send a multi-address target as the authority: set the channel option grpc.default_authority to one host:port (see README, \"Clients on other gRPC stacks\")",
            authority, suppressed);
    }

    private sealed class Listener(InvalidAuthorityLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != StreamResetAbort || exception?.Message is not { } message || !message.StartsWith(InvalidHost, StringComparison.Ordinal)) return;
            var authority = message[InvalidHost.Length..].TrimEnd('\'');
            // The value is the client's: keep it printable and short in the log.
            owner.Refused(new string([.. authority.Take(200).Select(c => char.IsControl(c) ? '?' : c)]));
        }
    }
}

/// <summary>Registration: the provider sees Kestrel's HTTP/2 category at Debug, and nothing else (other providers keep their levels).</summary>
public static class InvalidAuthorityLogging
{
    public static ILoggingBuilder AddInvalidAuthorityLog(this ILoggingBuilder logging)
    {
        logging.Services.AddSingleton<ILoggerProvider, InvalidAuthorityLog>();
        logging.AddFilter<InvalidAuthorityLog>(null, LogLevel.None);
        logging.AddFilter<InvalidAuthorityLog>(InvalidAuthorityLog.KestrelCategory, LogLevel.Debug);
        return logging;
    }
}
