using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;
using LongLived.Gateway.Operations;
using LongLived.Gateway.Sessions;
using LongLived.Gateway.Delivery;

namespace LongLived.Gateway.Resume;

/// <summary>
/// One Subscribe call's relay. Per channel: join first (live messages wait in the session's buffer), read the history
/// after the client's position and send it, then relay live messages. The own channel does its join and read, with
/// the session's fence, in one Subscribe call (<see cref="SessionLifecycle.SubscribeAsync"/>); topics are joined in
/// parallel. What to send, drop, fill or report lost is decided by <see cref="ResumeRules"/> (docs/resume.md); this
/// type does the reads and the writes.
/// </summary>
public sealed class SessionRelay(ChannelHub hub, SessionLifecycle lifecycle, IGrainFactory grains, GatewayMetrics metrics, IOptions<GatewayOptions> options, ILogger<SessionRelay> logger)
{
    private readonly int _pageSize = Math.Max(options.Value.HistoryPageSize, 1);
    private static readonly WriteOptions BufferHint = new(WriteFlags.BufferHint);

    public async Task RunAsync(SubscriberSession session, IReadOnlyDictionary<string, Position> positions,
        IServerStreamWriter<Response> responseStream, ServerCallContext call, CancellationToken cancellationToken)
    {
        var writer = new SessionWriter(responseStream, call.GetHttpContext());
        var memberships = new List<ChannelHub.Membership>(session.Channels.Count);
        try
        {
            SubscribeGrant? grant = null;
            var own = positions.GetValueOrDefault(session.Channels[0]) is { } p ? new ChannelPosition(p.Offset, p.Epoch) : null;
            var joins = session.Channels.Select((channel, i) => i > 0 ? hub.JoinAsync(channel, session, cancellationToken)
                : hub.JoinAsync(channel, session, cancellationToken, async join =>
                {
                    grant = await lifecycle.SubscribeAsync(session, hub.Route, hub.JoinLease, join, own, _pageSize);
                    return grant.Head;
                })).ToArray();
            try
            {
                await Task.WhenAll(joins);
            }
            finally
            {
                memberships.AddRange(joins.Where(j => j.IsCompletedSuccessfully).Select(j => j.Result));
            }

            var starts = await Task.WhenAll(session.Channels.Select((c, i) => i == 0 ? Task.FromResult(OwnStart(c, grant!))
                : StartAsync(c, positions.GetValueOrDefault(c), memberships[i].Head)));
            await lifecycle.StartedAsync(session); // one-way: acknowledgements without positions count from here on
            await call.WriteResponseHeadersAsync(ResumeHeaders(session, starts));

            var cursors = new Dictionary<string, ChannelCursor>(StringComparer.Ordinal);
            foreach (var start in starts)
            {
                cursors[start.Cursor.Channel] = start.Cursor;
                foreach (var message in start.Page.Messages) await SendAsync(start.Cursor, message, live: false, writer, cancellationToken);
                await FillAsync(start.Cursor, start.Page.Head, writer, cancellationToken);
            }

            // One flush per drained buffer, not per message: while more signals are queued, writes only buffer
            // (BufferHint); once the buffer is empty, whatever was buffered is flushed (a queued signal need not write).
            var response = call.GetHttpContext().Response;
            var unflushed = false; // a write with the hint may sit in the response buffer
            var buffer = session.Buffer;
            // Per message, what is not needed is not touched (each is a cold line by the time a channel's next message
            // comes): a session of one channel skips the lookup by name, and the write options go down the writers (ours,
            // channelz's, grpc-dotnet's) only when they change.
            var only = starts.Length == 1 ? starts[0].Cursor : null;
            WriteOptions? hint = null;
            using (session.StopReadsOn(cancellationToken))
            {
                while (await buffer.WaitToReadAsync())
                {
                    while (buffer.TryRead(out var signal))
                    {
                        var more = buffer.Count > 0;
                        if (hint != (more ? BufferHint : null)) writer.WriteOptions = hint = more ? BufferHint : null;
                        var cursor = only ?? cursors[signal.Channel];
                        if (signal.Message is { } message) await OnMessageAsync(cursor, message, signal.Encoded, writer, cancellationToken);
                        else if (signal.Head is { } head) await OnHeadAsync(cursor, head, signal.Restarted, writer, cancellationToken);
                        unflushed |= more;
                        if (unflushed && buffer.Count == 0)
                        {
                            await response.BodyWriter.FlushAsync(cancellationToken);
                            unflushed = false;
                        }
                    }
                }
            }
            cancellationToken.ThrowIfCancellationRequested(); // reads stop only when it is cancelled
        }
        finally
        {
            // In parallel: a draining gateway ends thousands of streams at once, each leaving its channels.
            await Task.WhenAll(memberships.Select(m => m.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Where a topic starts: at the head, or after the client's position if history can serve it.</summary>
    private async Task<Start> StartAsync(string channel, Position? position, ChannelHead? joinedAt)
    {
        var grain = grains.Grain<IChannelGrain>(channel);
        if (position is null) return AtHead(channel, joinedAt ?? await grain.Touch()); // the head its join just returned, if it joined
        return AfterPosition(channel, new ChannelPosition(position.Offset, position.Epoch), await grain.Read(position.Offset, position.Epoch, _pageSize));
    }

    /// <summary>Where the own channel starts, as its Subscribe call read it.</summary>
    private Start OwnStart(string channel, SubscribeGrant grant) =>
        grant.From is { } from && grant.Page is { } page ? AfterPosition(channel, from, page) : AtHead(channel, grant.Head);

    private static Start AtHead(string channel, ChannelHead head) =>
        new(ResumeRules.StartAtHead(channel, head), new HistoryPage(head.Epoch, head.Head, true, [], head.Head + 1), Resume.None);

    private Start AfterPosition(string channel, ChannelPosition position, HistoryPage page)
    {
        metrics.Resumed(page.Recoverable);
        var cursor = ResumeRules.StartAt(channel, position, page);
        if (page.Recoverable) return new Start(cursor, page, Resume.Recovered);
        logger.LogInformation("Channel {Channel}: position {Offset}@{Epoch} not recoverable (now {Head}@{CurrentEpoch}); continuing from now",
            channel, position.Offset, position.Epoch, page.Head, page.Epoch);
        return new Start(cursor, page, Resume.Unrecoverable);
    }

    /// <summary>A live message: the next offset is written at once (no async frame for what is nearly every message); the rest is decided by the rules.</summary>
    private Task OnMessageAsync(ChannelCursor cursor, ChannelMessage message, Response? encoded, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        var step = ResumeRules.OnLive(cursor, message);
        return step == LiveStep.Send ? SendAsync(cursor, message, live: true, writer, ct, encoded) : OnOutOfOrderAsync(cursor, message, step, encoded, writer, ct);
    }

    private async Task OnOutOfOrderAsync(ChannelCursor cursor, ChannelMessage message, LiveStep step, Response? encoded, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        if (step == LiveStep.AskHead)
        {
            var old = cursor.Epoch;
            if (!ResumeRules.EnterNewEpoch(cursor, await grains.Grain<IChannelGrain>(cursor.Channel).Touch(), message)) return;
            logger.LogWarning("Channel {Channel}: epoch changed {Old} -> {New}; the client is told earlier messages are lost", cursor.Channel, old, message.Epoch);
            step = ResumeRules.OnLive(cursor, message);
        }
        if (step == LiveStep.FillFirst)
        {
            await FillAsync(cursor, message.Offset - 1, writer, ct);
            var filled = cursor.Last;
            step = ResumeRules.AfterFill(cursor, message);
            if (step == LiveStep.SendAfterLoss) logger.LogWarning("Channel {Channel}: offsets {From}..{To} missing from history", cursor.Channel, filled + 1, message.Offset - 1);
        }
        if (step == LiveStep.Drop)
        {
            metrics.DuplicateDropped(); // already delivered (history fill or a redelivery), or late
            return;
        }
        await SendAsync(cursor, message, live: true, writer, ct, encoded);
    }

    /// <summary>Tail loss: fills what the head says is overdue (<see cref="ResumeRules.FillTarget"/>).</summary>
    private Task OnHeadAsync(ChannelCursor cursor, ChannelHead head, bool restarted, IServerStreamWriter<Response> writer, CancellationToken ct) =>
        ResumeRules.FillTarget(cursor, head, restarted) is { } target ? FillAsync(cursor, target, writer, ct) : Task.CompletedTask;

    /// <summary>Sends history until the cursor reaches <paramref name="target"/>, page by page (<see cref="ResumeRules.OnPage"/>).</summary>
    private async Task FillAsync(ChannelCursor cursor, ulong target, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        // A fill may be long: each write flushes (write batching is for live messages), so it is never held in memory whole.
        var options = writer.WriteOptions;
        writer.WriteOptions = null;
        try
        {
            await FillCoreAsync(cursor, target, writer, ct);
        }
        finally
        {
            writer.WriteOptions = options;
        }
    }

    private async Task FillCoreAsync(ChannelCursor cursor, ulong target, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        var grain = grains.Grain<IChannelGrain>(cursor.Channel);
        while (cursor.Last < target)
        {
            var (from, epoch) = (cursor.Last, cursor.Epoch);
            var page = await grain.Read(cursor.Last, cursor.Epoch, _pageSize);
            switch (ResumeRules.OnPage(cursor, page, ref target))
            {
                case FillStep.Jumped:
                    logger.LogWarning("Channel {Channel}: cannot fill after {Offset}@{Epoch} (history now holds {First}..{Head}@{NewEpoch}); continuing after {After}",
                        cursor.Channel, from, epoch, page.First, page.Head, page.Epoch, cursor.Last);
                    continue;
                case FillStep.Done:
                    return;
            }
            foreach (var message in page.Messages) await SendAsync(cursor, message, live: false, writer, ct);
        }
    }

    /// <summary>Writes one message; <paramref name="encoded"/>: a live message's response encoded once for its channel's local subscribers.</summary>
    private Task SendAsync(ChannelCursor cursor, ChannelMessage message, bool live, IServerStreamWriter<Response> writer, CancellationToken ct, Response? encoded = null)
    {
        var unrecoverable = cursor.TakePendingUnrecoverable(); // the flag is this call's alone: never the shared encoding
        var write = writer.WriteAsync(encoded is not null && !unrecoverable ? encoded : EncodedResponses.ToResponse(message, unrecoverable), ct);
        if (!write.IsCompletedSuccessfully) return SentAsync(write, cursor, message, live); // a write that waits (flow control), or failed
        Sent(cursor, message, live);
        return Task.CompletedTask;
    }

    private async Task SentAsync(Task write, ChannelCursor cursor, ChannelMessage message, bool live)
    {
        await write;
        Sent(cursor, message, live);
    }

    private void Sent(ChannelCursor cursor, ChannelMessage message, bool live)
    {
        cursor.Delivered(message.Offset);
        metrics.Relayed(live, message.PublishedUnixMs);
    }

    private static Metadata ResumeHeaders(SubscriberSession session, Start[] starts)
    {
        var headers = new Metadata { { ProtocolNames.SessionHeader, session.SessionId.ToString() } };
        AddList(ProtocolNames.RecoveredHeader, Resume.Recovered);
        AddList(ProtocolNames.UnrecoverableHeader, Resume.Unrecoverable);
        return headers;

        void AddList(string key, Resume outcome)
        {
            var names = starts.Where(s => s.Outcome == outcome).Select(s => Uri.EscapeDataString(s.Cursor.Channel)).ToArray();
            if (names.Length > 0) headers.Add(key, string.Join(',', names));
        }
    }

    private enum Resume { None, Recovered, Unrecoverable }

    private sealed record Start(ChannelCursor Cursor, HistoryPage Page, Resume Outcome);
}
