namespace LongLived.Contracts.Grains;

/// <summary>The silo's named grain storages (in memory embedded, Redis hashes with Orleans:Redis).</summary>
public static class StorageNames
{
    /// <summary>Channel state (embedded mode: the history at deactivation) and the gateway directory.</summary>
    public const string Channels = "channels";
    public const string Clients = "clients";
    /// <summary>The stream pub-sub store Orleans reads on silos (durable with Redis: it must survive a silo).</summary>
    public const string PubSubStore = "PubSubStore";
}
