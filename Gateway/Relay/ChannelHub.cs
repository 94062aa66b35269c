using System.Collections.Concurrent;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using Orleans.Streams;

namespace LongLived.Gateway.Relay;

/// <summary>
/// One Orleans stream subscription per channel per gateway, shared by every local subscriber of that channel:
/// a thousand clients on one topic cost one pub-sub record, not a thousand.
/// </summary>
public sealed class ChannelHub(IClusterClient cluster, IOptions<GatewayOptions> options, ILogger<ChannelHub> logger)
{
    private readonly ConcurrentDictionary<string, HubChannel> _channels = new(StringComparer.Ordinal);

    /// <summary>Channels with local subscribers, for the head check.</summary>
    public IEnumerable<HubChannel> Channels => _channels.Values;

    /// <summary>Starts delivering the channel's live messages to <paramref name="sink"/>; dispose the result to stop.</summary>
    public async Task<IAsyncDisposable> JoinAsync(string channel, IChannelSink sink, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _channels.GetOrAdd(channel, name => new HubChannel(name));
            await entry.Gate.WaitAsync(cancellationToken);
            try
            {
                if (entry.Closed) continue; // the last subscriber left while we waited: take a fresh entry
                if (entry.Handle is null)
                {
                    var stream = cluster.GetStreamProvider(StreamNames.Provider)
                        .GetStream<ChannelMessage>(StreamId.Create(StreamNames.ChannelNamespace, channel));
                    try
                    {
                        entry.Handle = await stream.SubscribeAsync(entry.DeliverAsync);
                    }
                    catch
                    {
                        // A cluster blip: drop the entry, or the head check would keep touching (and so keep generating
                        // on) a channel nobody here receives, forever. The caller's stream fails and its client resumes.
                        if (entry.Sinks.Count == 0)
                        {
                            entry.Closed = true;
                            _channels.TryRemove(new KeyValuePair<string, HubChannel>(channel, entry));
                        }
                        throw;
                    }
                    logger.LogDebug("Subscribed to stream of channel {Channel}", channel);
                }
                entry.Add(sink);
                return new Membership(this, entry, sink);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
    }

    private async Task LeaveAsync(HubChannel entry, IChannelSink sink)
    {
        await entry.Gate.WaitAsync();
        try
        {
            if (!entry.Remove(sink) || entry.Handle is null) return;
            entry.Closed = true;
            _channels.TryRemove(new KeyValuePair<string, HubChannel>(entry.Name, entry));
            try
            {
                // Bounded: a drain must fit in the host's shutdown window whatever the cluster does.
                await entry.Handle.UnsubscribeAsync().WaitAsync(options.Value.DrainTimeout);
            }
            catch (Exception ex)
            {
                // The cluster may be unreachable; the silo drops a gone client's subscription on the next event after ClientDropTimeout.
                logger.LogWarning(ex, "Unsubscribing from channel {Channel} failed", entry.Name);
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>A channel with local subscribers.</summary>
    public sealed class HubChannel(string name)
    {
        private IChannelSink[] _sinks = [];

        public string Name { get; } = name;
        internal SemaphoreSlim Gate { get; } = new(1, 1);
        internal StreamSubscriptionHandle<ChannelMessage>? Handle { get; set; }
        internal bool Closed { get; set; }
        public IReadOnlyList<IChannelSink> Sinks => Volatile.Read(ref _sinks);

        internal void Add(IChannelSink sink) => _sinks = [.. _sinks, sink];

        /// <summary>True when the last sink left.</summary>
        internal bool Remove(IChannelSink sink)
        {
            _sinks = [.. _sinks.Where(s => !ReferenceEquals(s, sink))];
            return _sinks.Length == 0;
        }

        /// <summary>When (Environment.TickCount64) this channel last showed news: a live message, or a head check that found more.</summary>
        internal long HeardAt = Environment.TickCount64;

        /// <summary>The newest offset seen here, live or by a head check.</summary>
        internal ulong SeenHead;

        internal Task DeliverAsync(ChannelMessage message, StreamSequenceToken? token)
        {
            Volatile.Write(ref HeardAt, Environment.TickCount64);
            if (message.Offset > SeenHead) SeenHead = message.Offset;
            foreach (var sink in Volatile.Read(ref _sinks)) sink.Offer(message);
            return Task.CompletedTask;
        }
    }

    private sealed class Membership(ChannelHub hub, HubChannel entry, IChannelSink sink) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? new ValueTask(hub.LeaveAsync(entry, sink)) : ValueTask.CompletedTask;
    }
}
