namespace LongLived.Contracts.Grains;

public static class ClientGrains
{
    /// <summary>
    /// The grain of <paramref name="clientId"/>: its own channel's grain, which also holds the client's session state
    /// (one activation per client).
    /// </summary>
    public static IClientGrain GetClientGrain(this IGrainFactory grains, string clientId) =>
        grains.Grain<IClientGrain>(ChannelNames.ForClient(clientId));
}
