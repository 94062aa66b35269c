using LongLived.Contracts.Grains;

namespace LongLived.Silo.Grains;

/// <summary>One way for grains to store state: a storage failure becomes <see cref="StorageUnavailableException"/>.</summary>
internal static class StateWrites
{
    /// <summary>
    /// Writes the state; any failure of the storage provider (Redis down or timing out, an ETag conflict) is rethrown as
    /// <see cref="StorageUnavailableException"/>, whose type every gateway knows (the provider's own exception types,
    /// e.g. RedisStorageException, are not Orleans exceptions and may not even deserialize there).
    /// </summary>
    public static async Task WriteOrFailAsync<T>(this IPersistentState<T> state, string what, CancellationToken cancellationToken = default)
    {
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new StorageUnavailableException($"{what}: storage failed ({ex.GetType().Name}: {ex.Message})");
        }
    }
}
