using System.Collections.Concurrent;
using System.Threading.Channels;
using LongLived.Contracts;

namespace LongLived.Bench.BareRelay;

/// <summary>Channels numbered in memory and their live streams: the least a relay must keep.</summary>
public sealed class MemoryTopics
{
    public const int Slots = 100;
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    // The own channels with a subscriber, by generator slot: the generator touches only the slot that is due.
    private readonly HashSet<Topic>[] _generating = [.. Enumerable.Range(0, Slots).Select(_ => new HashSet<Topic>())];

    public Topic Get(string name) => _topics.GetOrAdd(name, n => new Topic(n, this));

    /// <summary>Adds the own channels of <paramref name="slot"/> that have a subscriber to <paramref name="into"/>.</summary>
    public void Generating(int slot, List<Topic> into)
    {
        var set = _generating[slot];
        lock (set) into.AddRange(set);
    }

    private void Subscribed(Topic topic, bool any)
    {
        if (!topic.Name.StartsWith("client/", StringComparison.Ordinal)) return;
        var set = _generating[(topic.Name.GetHashCode() & int.MaxValue) % Slots];
        lock (set)
        {
            if (any) set.Add(topic);
            else set.Remove(topic);
        }
    }

    public sealed class Topic(string name, MemoryTopics topics)
    {
        private readonly object _gate = new();
        private ChannelWriter<Response>[] _subscribers = [];
        private ulong _head;

        public string Name { get; } = name;

        public void Add(ChannelWriter<Response> subscriber)
        {
            lock (_gate)
            {
                _subscribers = [.. _subscribers, subscriber];
                if (_subscribers.Length == 1) topics.Subscribed(this, true);
            }
        }

        public void Remove(ChannelWriter<Response> subscriber)
        {
            lock (_gate)
            {
                _subscribers = [.. _subscribers.Where(s => s != subscriber)];
                if (_subscribers.Length == 0) topics.Subscribed(this, false);
            }
        }

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
