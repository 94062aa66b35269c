using Grpc.Core;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using LongLived.Gateway.Admin;
using LongLived.Gateway.Options;
using Microsoft.Extensions.Options;

namespace LongLived.Gateway.Relay;

/// <summary>
/// The resume protocol of one Subscribe call. Per channel: join the live stream first (buffering), read the history
/// after the client's position and send it, then relay live messages. The history is the truth and the stream the
/// fast path: an offset already delivered is dropped, a hole is filled from history before anything later is sent,
/// and what history no longer has is reported (<see cref="Response.Unrecoverable"/>), never skipped silently.
/// </summary>
public sealed class SessionRelay(ChannelHub hub, IGrainFactory grains, GatewayMetrics metrics, IOptions<GatewayOptions> options, ILogger<SessionRelay> logger)
{
    /// <summary>Response headers: the session id, and how each channel that came with a position resumed (URL-encoded names, comma-separated).</summary>
    public const string SessionHeader = "ll-session";
    public const string RecoveredHeader = "ll-resume-recovered";
    public const string UnrecoverableHeader = "ll-resume-unrecoverable";

    private readonly int _pageSize = Math.Max(options.Value.HistoryPageSize, 1);
    private static readonly WriteOptions BufferHint = new(WriteFlags.BufferHint);

    public async Task RunAsync(SubscriberSession session, IReadOnlyDictionary<string, Position> positions,
        IServerStreamWriter<Response> writer, ServerCallContext call, CancellationToken cancellationToken)
    {
        var memberships = new List<ChannelHub.Membership>(session.Channels.Count);
        try
        {
            // Live first: whatever is published while the history is read lands in the session buffer.
            foreach (var channel in session.Channels) memberships.Add(await hub.JoinAsync(channel, session, cancellationToken));

            var starts = await Task.WhenAll(session.Channels.Select((c, i) => StartAsync(c, positions.GetValueOrDefault(c), memberships[i].Head)));
            // Acknowledgements without positions (the original contract) count on from where the own channel starts.
            var own = starts[0].Cursor;
            await grains.GetGrain<IClientGrain>(session.ClientId).Started(session.SessionId, new ChannelPosition(own.Last, own.Epoch));
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
            await foreach (var signal in session.Buffer.ReadAllAsync(cancellationToken))
            {
                var more = session.Buffer.Count > 0;
                writer.WriteOptions = more ? BufferHint : null;
                var cursor = cursors[signal.Channel];
                if (signal.Message is { } message) await OnMessageAsync(cursor, message, writer, cancellationToken);
                else if (signal.Head is { } head) await OnHeadAsync(cursor, head, signal.Restarted, writer, cancellationToken);
                unflushed |= more;
                if (unflushed && session.Buffer.Count == 0)
                {
                    await response.BodyWriter.FlushAsync(cancellationToken);
                    unflushed = false;
                }
            }
        }
        finally
        {
            // In parallel: a draining gateway ends thousands of streams at once, each leaving its channels.
            await Task.WhenAll(memberships.Select(m => m.DisposeAsync().AsTask()));
        }
    }

    private async Task<Start> StartAsync(string channel, Position? position, ChannelHead? joinedAt)
    {
        var grain = grains.GetGrain<IChannelGrain>(channel);
        if (position is null)
        {
            // A new subscriber starts at the head (the one its join just returned, if it joined): it gets everything
            // published from now on.
            var head = joinedAt ?? await grain.Touch();
            return new Start(new ChannelCursor(channel, head.Epoch, head.Head), new HistoryPage(head.Epoch, head.Head, true, [], head.Head + 1), Resume.None);
        }
        var page = await grain.Read(position.Offset, position.Epoch, _pageSize);
        metrics.Resumed(page.Recoverable);
        if (page.Recoverable) return new Start(new ChannelCursor(channel, page.Epoch, position.Offset), page, Resume.Recovered);

        logger.LogInformation("Channel {Channel}: position {Offset}@{Epoch} not recoverable (now {Head}@{CurrentEpoch}); continuing from now",
            channel, position.Offset, position.Epoch, page.Head, page.Epoch);
        var cursor = new ChannelCursor(channel, page.Epoch, page.Head);
        cursor.Jump(page.Epoch, page.Head);
        return new Start(cursor, page, Resume.Unrecoverable);
    }

    private async Task OnMessageAsync(ChannelCursor cursor, ChannelMessage message, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        if (message.Epoch != cursor.Epoch)
        {
            // Either a late message of an older numbering, or the channel restarted its numbering (state lost).
            var head = await grains.GetGrain<IChannelGrain>(cursor.Channel).Touch();
            if (head.Epoch != message.Epoch) return;
            // The old numbering's undelivered tail is gone: say so, then deliver the new numbering from its first offset
            // still in history (the fill below), not from this message.
            logger.LogWarning("Channel {Channel}: epoch changed {Old} -> {New}; the client is told earlier messages are lost",
                cursor.Channel, cursor.Epoch, message.Epoch);
            cursor.Jump(message.Epoch, 0);
        }
        if (message.Offset <= cursor.Last)
        {
            metrics.DuplicateDropped(); // already delivered (history fill or a redelivery)
            return;
        }
        if (message.Offset > cursor.Last + 1) await FillAsync(cursor, message.Offset - 1, writer, ct);
        if (message.Epoch != cursor.Epoch || message.Offset <= cursor.Last)
        {
            metrics.DuplicateDropped();
            return;
        }
        if (message.Offset > cursor.Last + 1)
        {
            // History could not supply the hole although it should have: report it rather than skip it silently.
            logger.LogWarning("Channel {Channel}: offsets {From}..{To} missing from history", cursor.Channel, cursor.Last + 1, message.Offset - 1);
            cursor.Jump(message.Epoch, message.Offset - 1);
        }
        await SendAsync(cursor, message, live: true, writer, ct);
    }

    /// <summary>
    /// Tail loss: what the head check saw a round ago and the live path has still not delivered is filled from history.
    /// Not the newest head: under a burst the live path lags behind it, and filling then would race the live copies to
    /// a history that may already have trimmed them (reporting as lost what was only late). A new numbering is acted
    /// on at once: the old one's undelivered tail is gone either way, and so is what a new activation stored before this
    /// gateway joined it again (<paramref name="restarted"/>: it never sent that here).
    /// </summary>
    private Task OnHeadAsync(ChannelCursor cursor, ChannelHead head, bool restarted, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        if (head.Epoch != cursor.Epoch) return FillAsync(cursor, ulong.MaxValue, writer, ct);
        if (restarted) return head.Head > cursor.Last ? FillAsync(cursor, head.Head, writer, ct) : Task.CompletedTask;
        var overdue = cursor.HeadSeenBefore(head.Head);
        return overdue > cursor.Last ? FillAsync(cursor, overdue.Value, writer, ct) : Task.CompletedTask;
    }

    /// <summary>
    /// Sends history until the cursor reaches <paramref name="target"/>. What history cannot serve (an older numbering,
    /// or offsets already trimmed) is reported lost, and the fill goes on from the oldest offset history still holds in
    /// its current numbering: only what is really gone is skipped.
    /// </summary>
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
        var grain = grains.GetGrain<IChannelGrain>(cursor.Channel);
        while (cursor.Last < target)
        {
            var page = await grain.Read(cursor.Last, cursor.Epoch, _pageSize);
            if (!page.Recoverable)
            {
                var after = Math.Min(page.First - 1, page.Head);
                logger.LogWarning("Channel {Channel}: cannot fill after {Offset}@{Epoch} (history now holds {First}..{Head}@{NewEpoch}); continuing after {After}",
                    cursor.Channel, cursor.Last, cursor.Epoch, page.First, page.Head, page.Epoch, after);
                if (page.Epoch != cursor.Epoch) target = ulong.MaxValue; // the target was an offset of the old numbering
                cursor.Jump(page.Epoch, after);
                continue;
            }
            if (page.Messages.Count == 0) return;
            foreach (var message in page.Messages) await SendAsync(cursor, message, live: false, writer, ct);
        }
    }

    private async Task SendAsync(ChannelCursor cursor, ChannelMessage message, bool live, IServerStreamWriter<Response> writer, CancellationToken ct)
    {
        // A live message is one object for every local subscriber of its channel: encoded once for all of them.
        var unrecoverable = cursor.TakePendingUnrecoverable();
        await writer.WriteAsync(live && !unrecoverable ? EncodedResponses.For(message) : EncodedResponses.ToResponse(message, unrecoverable), ct);
        cursor.Delivered(message.Offset);
        metrics.Relayed(live, message.PublishedUnixMs);
    }

    private static Metadata ResumeHeaders(SubscriberSession session, Start[] starts)
    {
        var headers = new Metadata { { SessionHeader, session.SessionId.ToString() } };
        AddList(RecoveredHeader, Resume.Recovered);
        AddList(UnrecoverableHeader, Resume.Unrecoverable);
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
