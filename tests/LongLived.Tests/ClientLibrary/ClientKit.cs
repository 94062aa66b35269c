using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using LongLived.Client;
using LongLived.Client.Retry;

namespace LongLived.Tests.ClientLibrary;

/// <summary>What the client-library tests share: a client on given gateways, and reading a subscription with a bound.</summary>
internal static class ClientKit
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static LongLivedClient Client(string address, Action<LongLivedClientOptions>? configure = null)
    {
        var options = new LongLivedClientOptions { Address = address, AcknowledgeInterval = TimeSpan.FromMilliseconds(200) };
        configure?.Invoke(options);
        return new LongLivedClient(options, DebugLog);
    }

    /// <summary>LL_CLIENT_LOG=path: the clients' logs (debug level) appended there, to see why a test hangs.</summary>
    private static readonly Microsoft.Extensions.Logging.ILoggerFactory? DebugLog =
        Environment.GetEnvironmentVariable("LL_CLIENT_LOG") is { Length: > 0 } path
            ? Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug).AddProvider(new FileLog(path)))
            : null;

    private sealed class FileLog(string path) : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (this) File.AppendAllText(path, $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)} {exception?.GetType().Name}\n");
        }
        public void Dispose() { }
    }

    public static string Gateways(params int[] ports) => "static:" + string.Join(',', ports.Select(p => $":{p}"));

    /// <summary>
    /// Reads <paramref name="messages"/> until <paramref name="done"/> holds for what was read so far (bounded by
    /// <see cref="Patience"/>), then stops enumerating (as a <c>break</c> would).
    /// </summary>
    public static async Task<List<LongLivedMessage>> ReadUntilAsync(IAsyncEnumerable<LongLivedMessage> messages, Func<List<LongLivedMessage>, bool> done, TimeSpan? patience = null)
    {
        var read = new List<LongLivedMessage>();
        using var timeout = new CancellationTokenSource(patience ?? Patience);
        await using var enumerator = messages.GetAsyncEnumerator(timeout.Token);
        while (!done(read))
        {
            if (!await enumerator.MoveNextAsync()) break;
            read.Add(enumerator.Current);
        }
        Assert.True(done(read), $"stopped after {read.Count} messages: {Describe(read)}");
        return read;
    }

    /// <summary>Offsets of <paramref name="channel"/> in the order received must be consecutive: no gap, no duplicate.</summary>
    public static void AssertConsecutive(IEnumerable<LongLivedMessage> messages, string channel)
    {
        var offsets = messages.Where(m => m.Channel == channel).Select(m => m.Offset).ToArray();
        Assert.NotEmpty(offsets);
        for (var i = 1; i < offsets.Length; i++)
        {
            Assert.True(offsets[i] == offsets[i - 1] + 1, $"{channel}: offset {offsets[i]} after {offsets[i - 1]} ({string.Join(',', offsets)})");
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {timeout}");
            await Task.Delay(50);
        }
    }

    public static string Describe(IEnumerable<LongLivedMessage> messages) =>
        string.Join(' ', messages.GroupBy(m => m.Channel).Select(g => $"{g.Key}:[{string.Join(',', g.Select(m => m.Offset))}]"));
}

/// <summary>A retry policy that records what it was asked and answers as told (default: the library's default).</summary>
internal sealed class RecordingPolicy(Func<RetryContext, TimeSpan?>? answer = null) : IRetryPolicy
{
    private readonly IRetryPolicy _default = new FullJitterRetryPolicy { Random = new Random(7) };

    public ConcurrentQueue<(RetryContext Context, TimeSpan? Delay)> Asked { get; } = new();

    public TimeSpan? NextDelay(RetryContext context)
    {
        var delay = answer is null ? _default.NextDelay(context) : answer(context);
        Asked.Enqueue((context, delay));
        return delay;
    }
}
