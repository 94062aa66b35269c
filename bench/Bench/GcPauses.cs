using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace LongLived.Bench;

/// <summary>
/// The garbage collections of one server process while a scenario measures: each one's pause (the runtime's suspend
/// start to its restart end), from the runtime's own GC events over EventPipe. A pause delays every message the process
/// holds at that moment, so the latency tail follows the longest pauses and how often they come.
/// </summary>
public sealed class GcPauses : IDisposable
{
    private readonly EventPipeSession _session;
    private readonly Task _reading;
    private readonly List<(int Generation, double Ms)> _pauses = [];

    private GcPauses(int pid)
    {
        var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)ClrTraceEventParser.Keywords.GC) };
        _session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: false);
        // Its own thread: the read blocks for the whole scenario, and a blocked thread-pool thread would starve the load
        // client that shares this process (its latencies would be ours).
        _reading = Task.Factory.StartNew(() =>
        {
            using var source = new EventPipeEventSource(_session.EventStream);
            double suspendedAt = -1;
            var generation = -1;
            source.Clr.GCSuspendEEStart += e => suspendedAt = e.TimeStampRelativeMSec;
            source.Clr.GCStart += e => generation = e.Depth;
            source.Clr.GCRestartEEStop += e =>
            {
                if (suspendedAt < 0 || generation < 0) return; // suspended for something else, or before we listened
                lock (_pauses) _pauses.Add((generation, e.TimeStampRelativeMSec - suspendedAt));
                suspendedAt = -1;
                generation = -1;
            };
            try { source.Process(); } catch (Exception) { } // the process exited or the session ended
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Starts listening to <paramref name="pid"/>; null if its runtime refuses (then no GC figures).</summary>
    public static GcPauses? Start(int pid)
    {
        try { return new GcPauses(pid); } catch (Exception ex) { Console.WriteLine($"  (no GC events from {pid}: {ex.Message})"); return null; }
    }

    /// <summary>Stops listening and returns the pauses seen: (generation, milliseconds) in order.</summary>
    public async Task<IReadOnlyList<(int Generation, double Ms)>> StopAsync()
    {
        try { _session.Stop(); } catch (Exception) { }
        await _reading.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        lock (_pauses) return [.. _pauses];
    }

    public void Dispose() => _session.Dispose();
}
