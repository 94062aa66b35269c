namespace LongLived.Silo.Options;

/// <summary>Section "Clients": per client id state in the client grain.</summary>
public sealed class ClientOptions
{
    public const string Section = "Clients";

    /// <summary>
    /// Acknowledgements (NotifyReceived) are stored at most this long after they arrive, batched: one storage write per
    /// client per interval however many arrive, so a silo crash loses at most this much of them.
    /// </summary>
    public TimeSpan AckFlushInterval { get; set; } = TimeSpan.FromSeconds(1);
}
