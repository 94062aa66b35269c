using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LongLived.Tests;

/// <summary>A logger factory that keeps every warning and error, so a test can assert that a run logged none.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    public ILoggerFactory Factory => LoggerFactory.Create(logging => logging.AddProvider(this).SetMinimumLevel(LogLevel.Warning));

    public IReadOnlyList<string> Errors => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner._entries.Enqueue($"{category}: {formatter(state, exception)} {exception?.GetType().Name}");
        }
    }
}
