using Grpc.Core;
using LongLived.Contracts;
using LongLived.Gateway.Resume;

namespace LongLived.Tests;

/// <summary>
/// Bad resume positions on Subscribe, each with the answer the gateway gives: a status with a message, or a stream
/// that says how it resumed (ll-resume-* headers, <see cref="Response.Unrecoverable"/> on the first message) and
/// then delivers every later offset once, in order. Never a crash, a hang or a silent gap.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BadResumeTests(ClusterFixture cluster)
{
    private const int Before = 3; // published before the Subscribe: head = 3
    private const int After = 3;  // published once the stream is ready: 4..6

    public enum Resumed { Recovered, Unrecoverable }

    /// <summary>
    /// One row: the position (from the head and epoch the topic has), then the answer: an error status, or how the
    /// resume is reported and which offset comes first (flagged unrecoverable or not).
    /// </summary>
    public sealed record Case(Func<ulong, ulong> Offset, Func<string, string> Epoch, StatusCode? Error = null,
        Resumed? Header = null, ulong FirstOffset = 0, bool FirstFlagged = false, bool OtherChannel = false);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Beyond the head of the current epoch: nothing to resume from; told, and continues from now.
        ["future offset, right epoch"] = new(h => h + 1_000_000, e => e, Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        // head+1: one past what exists. Same answer; the client gets head+1 again, flagged, rather than a skip.
        ["offset head+1, right epoch"] = new(h => h + 1, e => e, Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        ["offset ulong.MaxValue, right epoch"] = new(_ => ulong.MaxValue, e => e, Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        // Offset 0 = "seen nothing": a full replay of the history.
        ["offset 0, right epoch"] = new(_ => 0, e => e, Header: Resumed.Recovered, FirstOffset: 1),
        ["garbage epoch"] = new(_ => 2, _ => "not-an-epoch \u00ff\u2603", Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        // Control characters cannot be an epoch of ours; refused like those in an id (they would reach the logs raw).
        ["epoch with a NUL"] = new(_ => 2, _ => "epoch\u0000", Error: StatusCode.InvalidArgument),
        // Epochs are 12 characters; one longer than 64 cannot be ours (and would only bloat logs and grain calls).
        ["very long epoch (1 KB)"] = new(_ => 2, _ => new string('e', 1 << 10), Error: StatusCode.InvalidArgument),
        // 1 MB: over the gateway's receive limit (Gateway:MaxPublishBytes + 16 KB): refused before the service runs.
        ["epoch over the message limit (1 MB)"] = new(_ => 2, _ => new string('e', 1 << 20), Error: StatusCode.ResourceExhausted),
        // No epoch: offset 2 of which numbering? One that was lost would pass as a match (the trap Centrifugo clients
        // fell into, centrifuge-go#159): told, and continues from now. Offset 0 ("seen nothing") replays the history.
        ["empty epoch, offset 2"] = new(_ => 2, _ => "", Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        ["empty epoch, offset 0"] = new(_ => 0, _ => "", Header: Resumed.Recovered, FirstOffset: 1),
        ["empty epoch, future offset"] = new(h => h + 10, _ => "", Header: Resumed.Unrecoverable, FirstOffset: Before + 1, FirstFlagged: true),
        ["position for a channel not subscribed"] = new(_ => 2, e => e, Error: StatusCode.InvalidArgument, OtherChannel: true),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task A_bad_resume_position_gets_a_defined_answer(string what)
    {
        var row = Cases[what];
        var topic = TestStreams.NewId("bad-resume");
        var publisher = cluster.Client(cluster.Port2);
        var epoch = await PublishAsync(publisher, topic, 1, Before);

        var positioned = row.OtherChannel ? TestStreams.NewId("elsewhere") : topic;
        var request = TestStreams.Subscribe(TestStreams.NewId("resumer"), topic).WithPosition(positioned, row.Offset(Before), row.Epoch(epoch));
        using var timeout = new CancellationTokenSource(TestStreams.Patience);
        using var call = cluster.Client(cluster.Port1).Subscribe(request, cancellationToken: timeout.Token);

        if (row.Error is { } code)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
            Assert.True(error.StatusCode == code, $"{what}: {error.Status}");
            Assert.False(string.IsNullOrEmpty(error.Status.Detail), $"{what}: a status without a message");
            // And the gateway goes on serving: a publish is stored.
            Assert.Equal((ulong)Before + 1, (await publisher.PublishAsync(new PublishRequest { Channel = topic, Data = "n4" })).Offset);
            return;
        }

        var headers = await call.ReadyAsync();
        var header = row.Header == Resumed.Recovered ? ProtocolNames.RecoveredHeader : ProtocolNames.UnrecoverableHeader;
        var other = row.Header == Resumed.Recovered ? ProtocolNames.UnrecoverableHeader : ProtocolNames.RecoveredHeader;
        Assert.True(topic == headers.GetValue(header), $"{what}: {header} = {headers.GetValue(header) ?? "(none)"}");
        Assert.Null(headers.GetValue(other));

        await PublishAsync(publisher, topic, Before + 1, Before + After);
        var expected = Before + After - (int)row.FirstOffset + 1;
        var messages = await call.ResponseStream.TakeAsync(expected, topic);

        // From the expected first offset to the last published, contiguous, each once, the first flagged only if the
        // gateway said the position was not recoverable.
        Assert.Equal(Enumerable.Range((int)row.FirstOffset, expected).Select(i => (ulong)i), messages.Select(m => m.Offset));
        Assert.Equal(messages.Select(m => $"n{m.Offset}"), messages.Select(m => m.Data));
        Assert.All(messages, m => Assert.Equal(epoch, m.Epoch));
        Assert.Equal(row.FirstFlagged, messages[0].Unrecoverable);
        Assert.All(messages.Skip(1), m => Assert.False(m.Unrecoverable));
    }

    /// <summary>Publishes "n{from}".."n{to}" and returns the epoch.</summary>
    private static async Task<string> PublishAsync(Longlived.LonglivedClient client, string topic, int from, int to)
    {
        var epoch = "";
        for (var i = from; i <= to; i++)
        {
            var reply = await client.PublishAsync(new PublishRequest { Channel = topic, Data = $"n{i}" }, deadline: DateTime.UtcNow + TestStreams.Patience);
            Assert.Equal((ulong)i, reply.Offset);
            epoch = reply.Epoch;
        }
        return epoch;
    }
}
