using System.Globalization;
using LongLived.Contracts.Grains;
using LongLived.Silo.Options;
using StackExchange.Redis;
using ChannelMessage = LongLived.Contracts.Grains.ChannelMessage;

namespace LongLived.Silo.History;

/// <summary>
/// Redis mode: a channel's history is a Redis stream (entry id = "&lt;offset&gt;-1", fields d = data, t = publish time,
/// k = idempotency key), its numbering a hash (epoch, head). A batch is one script: checked against the numbering it
/// extends, then every XADD (capped at <c>History:MaxCount</c>, approximately) and the head together. Needs Redis 6.2+.
/// Entries carry only what differs per message: no channel name or epoch. Both keys expire once the channel is silent
/// (the log after <c>History:MaxAge</c>, the numbering after <c>History:NumberingRetention</c>), so channels that are
/// never used again do not hold Redis memory forever.
/// </summary>
public sealed class RedisStreamLog(IDatabase redis, string channel, HistoryOptions history) : IChannelLog
{
    private readonly RedisKey _meta = $"ll:{{{channel}}}:meta";
    private readonly RedisKey _log = $"ll:{{{channel}}}:log";
    private readonly int _maxCount = Math.Max(history.MaxCount, 1);
    private readonly Expiry _expiry = new(history);
    private ulong _trimmedBelow;

    public async Task<StoredChannel?> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            var meta = (await redis.HashGetAllAsync(_meta)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
            if (!meta.TryGetValue("epoch", out var epoch) || string.IsNullOrEmpty(epoch)) return null;
            var head = ulong.Parse(meta.GetValueOrDefault("head", "0"), CultureInfo.InvariantCulture);
            var entries = await redis.StreamRangeAsync(_log, "-", "+", count: _maxCount, messageOrder: Order.Descending);
            var stored = entries.Select(e => ToMessage(e, epoch)).Where(m => m.Offset <= head).ToList(); // newest first
            // Only the newest run without a hole, ending at the head: a log with a gap (written over a rollback before
            // appends were conditional) would otherwise break the ring; what lies before the gap is no longer served.
            var run = stored.TakeWhile((m, i) => m.Offset == head - (ulong)i).Reverse().ToList();
            return new StoredChannel(epoch, head, run);
        }
        catch (RedisException ex)
        {
            throw new StorageUnavailableException($"channel {channel}: reading its log failed ({ex.GetType().Name}: {ex.Message})");
        }
    }

    public Task StartEpochAsync(string epoch, CancellationToken cancellationToken) => RunAsync("new epoch", tx =>
        [tx.KeyDeleteAsync(_log), tx.HashSetAsync(_meta, [new("epoch", epoch), new("head", 0)]), _expiry.Restart(tx, _meta)]);

    /// <summary>
    /// The batch goes in only on the numbering it extends (epoch and head as this activation last stored them) and all
    /// or nothing: one script checks both and that no entry lies past the head, then adds every entry and the new head.
    /// A stored head that went back (Redis restarted from an older state) is a <see cref="NumberingConflictException"/>,
    /// never a renumbering of offsets clients may already have seen.
    /// </summary>
    public ValueTask AppendAsync(string epoch, IReadOnlyList<ChannelMessage> batch, ulong oldestRetained) => new(AppendCoreAsync(epoch, batch, oldestRetained));

    private async Task AppendCoreAsync(string epoch, IReadOnlyList<ChannelMessage> batch, ulong oldestRetained)
    {
        var args = new List<RedisValue>(4 + batch.Count * 4) { epoch, batch[0].Offset - 1, batch[^1].Offset, _maxCount };
        foreach (var m in batch) args.AddRange([$"{m.Offset}-1", m.Data, m.PublishedUnixMs, m.IdempotencyKey ?? ""]);
        RedisResult result;
        try
        {
            result = await redis.ScriptEvaluateAsync(AppendScript, [_meta, _log], [.. args]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _expiry.Forget();
            throw new StorageUnavailableException($"channel {channel}, offsets {batch[0].Offset}..{batch[^1].Offset}: storage failed ({ex.GetType().Name}: {ex.Message})");
        }
        if (result.Resp2Type == ResultType.Array)
        {
            var stored = (RedisResult[])result!;
            var foundEpoch = (string?)stored[0] ?? "";
            var behind = foundEpoch == epoch && ulong.TryParse((string?)stored[1], CultureInfo.InvariantCulture, out var foundHead) && foundHead < batch[0].Offset - 1;
            var found = $"expected head {batch[0].Offset - 1}@{epoch} in storage, found {stored[1]}@{foundEpoch}";
            // Only a head that went back in this epoch is a rollback; anything else (another activation wrote ahead, a
            // new epoch) means this activation is stale: it must not overwrite that.
            if (behind) throw new NumberingConflictException($"channel {channel}: {found}");
            throw new StorageUnavailableException($"channel {channel}: {found}: another activation wrote it; reopening");
        }
        // Expiry and the age bound: apart from the append (best effort; a failure here loses nothing).
        var housekeeping = new List<Task>();
        var tx = redis.CreateTransaction();
        housekeeping.AddRange(_expiry.Renew(tx, _log, _meta));
        if (oldestRetained > _trimmedBelow + 64)
        {
            // Age bound (the count bound rides on XADD): what the ring dropped by age goes from Redis too, in steps. Redis >= 6.2.
            housekeeping.Add(tx.ExecuteAsync("XTRIM", _log, "MINID", $"{oldestRetained}-0"));
            _trimmedBelow = oldestRetained;
        }
        if (housekeeping.Count == 0) return;
        try
        {
            // Awaited (only when a renewal is due): a lost expiry would leave the keys without a time to live.
            await tx.ExecuteAsync();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _expiry.Forget(); // the next append renews
            _trimmedBelow = 0;
        }
    }

    /// <summary>
    /// KEYS: meta, log. ARGV: epoch, expected head, new head, max length, then per message id, data, time, key (or "").
    /// Returns {epoch, head} as found when they are not the expected ones; else adds everything and returns 1. Entries
    /// past the stored head (a write the head never recorded) are removed first, so the new ids are always accepted.
    /// </summary>
    private const string AppendScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        local head = redis.call('HGET', KEYS[1], 'head')
        if epoch ~= ARGV[1] or tonumber(head) ~= tonumber(ARGV[2]) then
          return { epoch or '', head or '' }
        end
        local stray = redis.call('XRANGE', KEYS[2], (ARGV[2] + 1) .. '-0', '+')
        if #stray > 0 then
          for _, entry in ipairs(stray) do redis.call('XDEL', KEYS[2], entry[1]) end
          -- XDEL keeps the stream's last id, and XADD takes only greater ids: set it back to the head.
          redis.call('XSETID', KEYS[2], ARGV[2] .. '-1')
        end
        for i = 5, #ARGV, 4 do
          if ARGV[i + 3] == '' then
            redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], ARGV[i], 'd', ARGV[i + 1], 't', ARGV[i + 2])
          else
            redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], ARGV[i], 'd', ARGV[i + 1], 't', ARGV[i + 2], 'k', ARGV[i + 3])
          end
        end
        redis.call('HSET', KEYS[1], 'head', ARGV[3])
        return 1
        """;

    public void KeepNumbering()
    {
        if (_expiry.NumberingDue() is { } ttl) _ = redis.KeyExpireAsync(_meta, ttl, flags: CommandFlags.FireAndForget);
    }

    public Task CloseAsync(string epoch, ulong head, HistoryRing ring, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs the commands as one transaction; any refused command (EXEC still applies the others) is a failure.</summary>
    private async Task RunAsync(string what, Func<ITransaction, IEnumerable<Task>> commands)
    {
        var tx = redis.CreateTransaction();
        var replies = commands(tx).ToArray();
        bool committed;
        try
        {
            committed = await tx.ExecuteAsync();
            if (committed) await Task.WhenAll(replies);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _expiry.Forget(); // an expiry in the failed transaction may not have been applied
            throw new StorageUnavailableException($"channel {channel}, {what}: storage failed ({ex.GetType().Name}: {ex.Message})");
        }
        if (!committed) _expiry.Forget();
        if (!committed) throw new StorageUnavailableException($"channel {channel}, {what}: storage refused the write");
    }

    /// <summary>
    /// The keys' time to live, renewed with a write at most every tenth of it (not one EXPIRE pair per batch); the log's
    /// is <c>MaxAge</c> plus that step, so it never goes before its newest entry is <c>MaxAge</c> old. Without an age
    /// bound the log lives as long as the numbering (never longer: a log without its numbering is unreadable).
    /// </summary>
    private sealed class Expiry(HistoryOptions history)
    {
        private readonly TimeSpan? _numberingTtl = history.NumberingRetention > TimeSpan.Zero
            ? TimeSpan.FromTicks(Math.Max(history.NumberingRetention.Ticks, (history.MaxAge * 1.1).Ticks)) : null;
        private readonly TimeSpan? _logTtl = history.MaxAge > TimeSpan.Zero ? history.MaxAge * 1.1
            : history.NumberingRetention > TimeSpan.Zero ? history.NumberingRetention : null;
        private long? _renewedAt, _numberingRenewedAt;

        /// <summary>With an append: both keys, unless renewed less than a step ago.</summary>
        public IEnumerable<Task> Renew(ITransaction tx, RedisKey log, RedisKey meta)
        {
            var now = Environment.TickCount64;
            // Not yet in this activation (or since a new epoch or a failure): now. Without any expiry: once (PERSIST).
            if (_renewedAt is { } at && (_logTtl is null || now - at < Step(_logTtl))) return [];
            _renewedAt = _numberingRenewedAt = now;
            return [_logTtl is { } l ? tx.KeyExpireAsync(log, l) : tx.KeyPersistAsync(log), Numbering(tx, meta)];
        }

        /// <summary>A new epoch: the log is deleted (an expiry on it would be lost), so the next append renews both.</summary>
        public Task Restart(ITransaction tx, RedisKey meta)
        {
            _renewedAt = null;
            _numberingRenewedAt = Environment.TickCount64;
            return Numbering(tx, meta);
        }

        /// <summary>The numbering's time to live when it is due for renewal without an append, else null.</summary>
        public TimeSpan? NumberingDue()
        {
            var now = Environment.TickCount64;
            if (_numberingTtl is not { } ttl || now - _numberingRenewedAt < Step(ttl)) return null;
            _numberingRenewedAt = now;
            return ttl;
        }

        public void Forget() => _renewedAt = _numberingRenewedAt = null;

        private static double Step(TimeSpan? ttl) => (ttl ?? TimeSpan.Zero).TotalMilliseconds / 11;

        private Task Numbering(ITransaction tx, RedisKey meta) => _numberingTtl is { } m ? tx.KeyExpireAsync(meta, m) : tx.KeyPersistAsync(meta);
    }

    private ChannelMessage ToMessage(StreamEntry entry, string epoch)
    {
        var id = (string)entry.Id!;
        var offset = ulong.Parse(id.AsSpan(0, id.IndexOf('-')), CultureInfo.InvariantCulture);
        string? key = entry["k"];
        return new ChannelMessage(channel, offset, epoch, entry["d"]!, (long)entry["t"]) { IdempotencyKey = string.IsNullOrEmpty(key) ? null : key };
    }
}
