using System.Collections.Concurrent;

namespace LongLived.Client.Positions;

/// <summary>The default store: positions live as long as the process (a new subscription in it resumes; a restart does not).</summary>
public sealed class InMemoryPositionStore : IPositionStore
{
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, ChannelPosition>> _positions = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, ChannelPosition>> LoadAsync(string clientId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_positions.TryGetValue(clientId, out var saved) ? saved : new Dictionary<string, ChannelPosition>());

    /// <inheritdoc />
    public ValueTask SaveAsync(string clientId, IReadOnlyDictionary<string, ChannelPosition> positions, CancellationToken cancellationToken)
    {
        _positions[clientId] = new Dictionary<string, ChannelPosition>(positions, StringComparer.Ordinal);
        return ValueTask.CompletedTask;
    }
}
