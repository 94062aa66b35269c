namespace LongLived.Client.Positions;

/// <summary>
/// Where a client's positions are kept between subscriptions and between processes. The client loads them when a
/// subscription starts and saves them as messages are taken (at most once per
/// <see cref="LongLivedClientOptions.PositionSaveInterval"/>, and when the subscription ends).
/// </summary>
public interface IPositionStore
{
    /// <summary>The positions saved for <paramref name="clientId"/> (empty if none).</summary>
    ValueTask<IReadOnlyDictionary<string, ChannelPosition>> LoadAsync(string clientId, CancellationToken cancellationToken);

    /// <summary>Replaces the positions saved for <paramref name="clientId"/>.</summary>
    ValueTask SaveAsync(string clientId, IReadOnlyDictionary<string, ChannelPosition> positions, CancellationToken cancellationToken);
}
