namespace LongLived.Contracts.Grains;

/// <summary>
/// Which Subscribe call of one client object this is (Request.client_instance, Request.attempt): between calls of the
/// same instance, the higher attempt is the newer, whatever order they reach the cluster in.
/// </summary>
[GenerateSerializer, Immutable, Alias("ll.ClientAttempt")]
public sealed record ClientAttempt(string Instance, ulong Number)
{
    /// <summary>True when both are calls of the same client instance and this one was made before <paramref name="other"/>.</summary>
    public bool IsOlderThan(ClientAttempt? other) => other is not null && other.Instance == Instance && Number < other.Number;
}
