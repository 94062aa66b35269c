using System.Collections.Concurrent;
using System.Threading.Channels;
using LongLived.Contracts;

namespace LongLived.Bench.BareRelay;

/// <summary>Channels numbered in memory and their live streams: the least a relay must keep.</summary>
public sealed class MemoryTopics
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);

    public Topic Get(string name) => _topics.GetOrAdd(name, n => new Topic(n));

    public IEnumerable<Topic> All => _topics.Values;

    public sealed class Topic(string name)
    {
        private readonly object _gate = new();
        private ChannelWriter<Response>[] _subscribers = [];
        private ulong _head;

        public string Name { get; } = name;
        public bool HasSubscribers => Volatile.Read(ref _subscribers).Length > 0;

        public void Add(ChannelWriter<Response> subscriber) { lock (_gate) _subscribers = [.. _subscribers, subscriber]; }

        public void Remove(ChannelWriter<Response> subscriber) { lock (_gate) _subscribers = [.. _subscribers.Where(s => s != subscriber)]; }

        public Response Publish(string data)
        {
            Response message;
            ChannelWriter<Response>[] subscribers;
            lock (_gate)
            {
                message = new Response { Data = data, Channel = Name, Offset = ++_head, Epoch = "bare", PublishTimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
                subscribers = _subscribers;
            }
            foreach (var subscriber in subscribers) subscriber.TryWrite(message); // a full buffer drops: the baseline does not resume
            return message;
        }
    }
}
