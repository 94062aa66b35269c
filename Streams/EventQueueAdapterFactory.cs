using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace LongLived.Streams;

/// <summary>
/// The event-driven persistent stream provider: the queues are <see cref="EventQueueGrain"/>s, read by Orleans' own
/// pulling agents through <see cref="EventQueueReceiver"/>, cached in <see cref="EventQueueCache"/>s (one per queue,
/// where a consumer that lags or died holds no one else up). Producers (grains, clients) write to the queue grain of
/// the stream's queue directly, through one <see cref="EventQueueOutbox"/> per queue.
/// </summary>
public sealed class EventQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly EventQueueOptions _options;
    private readonly IGrainFactory _grains;
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly ILogger _logger;
    private readonly IStreamMissListener? _missListener;
    private readonly IEventQueueGrain?[] _queues;
    private readonly EventQueueOutbox?[] _outboxes;

    private EventQueueAdapterFactory(string name, EventQueueOptions options, IGrainFactory grains, IStreamMissListener? missListener, ILogger logger)
    {
        Name = name;
        _options = options;
        _grains = grains;
        _missListener = missListener;
        _logger = logger;
        var queues = Math.Max(options.Queues, 1);
        _queues = new IEventQueueGrain?[queues];
        _outboxes = new EventQueueOutbox?[queues];
        _mapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = queues }, name);
    }

    public static EventQueueAdapterFactory Create(IServiceProvider services, string name) => new(
        name,
        services.GetRequiredService<IOptionsMonitor<EventQueueOptions>>().Get(name),
        services.GetRequiredService<IGrainFactory>(),
        services.GetService<IStreamMissListener>(),
        services.GetRequiredService<ILoggerFactory>().CreateLogger<EventQueueAdapterFactory>());

    public string Name { get; }
    public bool IsRewindable => false;
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);
    public IQueueAdapterCache GetQueueAdapterCache() => this;

    public IQueueCache CreateQueueCache(QueueId queueId)
    {
        var log = new CacheMissLog(_logger, Name, Key(queueId), _options.CacheCapacity, _missListener);
        return new EventQueueCache(_options.CacheCapacity, log.Missed);
    }
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler(false));

    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        if (token is not null) throw new ArgumentException("this stream provider does not take sequence tokens from producers", nameof(token));
        return Outbox(_mapper.GetQueueForStream(streamId)).Queue(new EventBatch(streamId, [.. events.Cast<object>()], requestContext));
    }

    /// <summary>
    /// One event on <paramref name="streamId"/>, as <see cref="QueueMessageBatchAsync"/> queues it, for a producer that does
    /// not wait for its send: <paramref name="observer"/> is told if it fails (no task to watch per event).
    /// </summary>
    public void QueueObserved(StreamId streamId, object item, Dictionary<string, object>? requestContext, ISendObserver observer) =>
        Outbox(_mapper.GetQueueForStream(streamId)).Queue(new EventBatch(streamId, [item], requestContext), 1, observer);

    private EventQueueOutbox Outbox(QueueId queueId)
    {
        var i = queueId.GetNumericId();
        if (Volatile.Read(ref _outboxes[i]) is { } outbox) return outbox;
        Interlocked.CompareExchange(ref _outboxes[i], new EventQueueOutbox(Queue(queueId), Key(queueId), _options.QueueCapacity), null); // one per queue: it orders the sends
        return _outboxes[i]!;
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => new EventQueueReceiver(Queue(queueId), _options);

    // One reference per queue, made once: every event is sent to one, and Orleans' GetGrain<T>(key) resolves the
    // interface's type by name on every call. The mapper numbers its queues 0..Queues-1.
    private IEventQueueGrain Queue(QueueId queueId) =>
        _queues[queueId.GetNumericId()] ??= _grains.GetGrain<IEventQueueGrain>(Key(queueId));

    /// <summary>The queue grain's key (<see cref="EventQueueGrain"/>): "&lt;provider&gt;/&lt;queue number&gt;".</summary>
    private string Key(QueueId queueId) => $"{Name}/{queueId.GetNumericId()}";
}
