using System.Text.Json;

namespace LongLived.Client.Positions;

/// <summary>
/// Positions in one JSON file (<c>{"clientId": {"channel": {"offset": 1, "epoch": "…"}}}</c>), so a restarted process
/// resumes where it stopped. Each save writes a temporary file beside it and renames it over the old one: a crash
/// mid-write leaves the previous file whole.
/// </summary>
public sealed class JsonFilePositionStore : IPositionStore
{
    private readonly string _path;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Dictionary<string, Dictionary<string, ChannelPosition>>? _all;

    /// <summary>A store in <paramref name="path"/> (created on the first save; its folder must exist).</summary>
    public JsonFilePositionStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _path = Path.GetFullPath(path);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, ChannelPosition>> LoadAsync(string clientId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var all = await ReadAsync(cancellationToken);
            return all.TryGetValue(clientId, out var saved) ? new Dictionary<string, ChannelPosition>(saved) : new Dictionary<string, ChannelPosition>();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(string clientId, IReadOnlyDictionary<string, ChannelPosition> positions, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var all = await ReadAsync(cancellationToken);
            all[clientId] = new Dictionary<string, ChannelPosition>(positions, StringComparer.Ordinal);
            var temporary = $"{_path}.{Environment.ProcessId}.tmp";
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
            {
                await JsonSerializer.SerializeAsync(file, all, JsonOptions, cancellationToken);
            }
            File.Move(temporary, _path, overwrite: true);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<Dictionary<string, Dictionary<string, ChannelPosition>>> ReadAsync(CancellationToken cancellationToken)
    {
        if (_all is not null) return _all;
        if (!File.Exists(_path)) return _all = new(StringComparer.Ordinal);
        await using var file = File.OpenRead(_path);
        try
        {
            var read = await JsonSerializer.DeserializeAsync<Dictionary<string, Dictionary<string, ChannelPosition>>>(file, JsonOptions, cancellationToken);
            return _all = read is null ? new(StringComparer.Ordinal) : new(read, StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{_path} is not a position file: {ex.Message}", ex);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
