using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Tests;

/// <summary>Reading helpers with generous timeouts: a slow CI machine makes a test slower, never red.</summary>
public static class TestStreams
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static string NewId(string what) => $"{what}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>The next <paramref name="count"/> messages of <paramref name="channel"/>, skipping other channels, within <paramref name="within"/> (default <see cref="Patience"/>).</summary>
    public static async Task<List<Response>> TakeAsync(this IAsyncStreamReader<Response> stream, int count, string channel, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? Patience);
        var taken = new List<Response>();
        while (taken.Count < count)
        {
            if (!await stream.MoveNext(timeout.Token)) throw new InvalidOperationException($"stream ended after {taken.Count} of {count} messages of {channel}");
            if (stream.Current.Channel == channel) taken.Add(stream.Current);
        }
        return taken;
    }

    public static Request Subscribe(string id, params string[] topics)
    {
        var request = new Request { Id = id };
        request.Topics.AddRange(topics);
        return request;
    }

    public static Request WithPosition(this Request request, string channel, ulong offset, string epoch)
    {
        request.Positions[channel] = new Position { Offset = offset, Epoch = epoch };
        return request;
    }

    /// <summary>Reads the stream to its end and returns the status it ended with (fails after <see cref="Patience"/>).</summary>
    public static async Task<RpcException> EndAsync(this IAsyncStreamReader<Response> stream)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await stream.MoveNext(timeout.Token)) { }
        }
        catch (RpcException ex) when (!timeout.IsCancellationRequested)
        {
            return ex;
        }
        throw new InvalidOperationException(timeout.IsCancellationRequested ? $"the stream did not end within {Patience}" : "the stream ended with OK");
    }

    /// <summary>Waits until the gateway has joined the live streams and read the positions: it sends headers only then.</summary>
    public static async Task<Metadata> ReadyAsync(this AsyncServerStreamingCall<Response> call) =>
        await call.ResponseHeadersAsync.WaitAsync(Patience);
}
