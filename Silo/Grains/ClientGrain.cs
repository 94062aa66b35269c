using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>
/// One client id: which gateway holds its live session (the newest Subscribe wins), its topics and acknowledgements.
/// </summary>
public sealed class ClientGrain(
    [PersistentState("client", StreamNames.ClientStorage)] IPersistentState<ClientState> state,
    TimeProvider time,
    ILogger<ClientGrain> logger) : Grain, IClientGrain
{
    private ClientState S => state.State;
    private bool _acksDirty;

    public async Task Connect(SessionInfo session)
    {
        var previous = S.Session;
        S.Session = session;
        S.ConnectedAt = time.GetUtcNow();
        S.Topics = [.. session.Topics];
        S.Sessions++;
        await state.WriteStateAsync();
        if (previous is not null && previous.SessionId != session.SessionId)
        {
            logger.LogInformation("Client {ClientId}: session {New} on {NewGateway} replaces {Old} on {OldGateway}",
                this.GetPrimaryKeyString(), session.SessionId, session.GatewayId, previous.SessionId, previous.GatewayId);
            // One-way: a dead gateway must not delay the new session. Its stream is gone anyway.
            _ = previous.Gateway.EndSession(this.GetPrimaryKeyString(), previous.SessionId, SessionEndReason.Replaced);
        }
    }

    public async Task Disconnect(Guid sessionId)
    {
        if (S.Session?.SessionId != sessionId) return;
        S.Session = null;
        S.ConnectedAt = null;
        _acksDirty = false;
        await state.WriteStateAsync();
    }

    public async Task<bool> Unsubscribe()
    {
        var session = S.Session;
        if (session is null) return false;
        _ = session.Gateway.EndSession(this.GetPrimaryKeyString(), session.SessionId, SessionEndReason.Unsubscribed);
        S.Session = null;
        S.ConnectedAt = null;
        await state.WriteStateAsync();
        return true;
    }

    public Task Acknowledge(IReadOnlyDictionary<string, ChannelPosition> positions)
    {
        S.Notifications++;
        foreach (var (channel, position) in positions)
        {
            // Keep the newest position; a new epoch replaces the old one whatever its offset.
            if (!S.Acknowledged.TryGetValue(channel, out var known) || known.Epoch != position.Epoch || known.Offset < position.Offset)
            {
                S.Acknowledged[channel] = position;
            }
        }
        // Acknowledgements arrive once per message: they are written with the next session change or on deactivation,
        // not one storage write each.
        _acksDirty = true;
        return Task.CompletedTask;
    }

    public Task<ClientSnapshot> GetSnapshot() => Task.FromResult(new ClientSnapshot(
        this.GetPrimaryKeyString(), S.Session?.SessionId, S.Session?.GatewayId, [.. S.Topics],
        new Dictionary<string, ChannelPosition>(S.Acknowledged), S.Notifications, S.Sessions, S.ConnectedAt));

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_acksDirty) await state.WriteStateAsync(cancellationToken);
    }
}
