using Spectre.Console;

namespace LongLived.Emulator;

/// <summary>The live summary line and the final table, rendered with Spectre.Console (plain text when piped).</summary>
public static class Summary
{
    public static async Task RunAsync(TimeSpan interval, Func<RunReport> snapshot, CancellationToken cancellationToken)
    {
        // Piped (run.sh prefixes every line): Spectre would wrap at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken)) AnsiConsole.MarkupLine(Line(snapshot()));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public static string Line(RunReport r) =>
        $"[bold]summary[/] clients {r.Clients} received {r.Received} " +
        $"{Flag("gaps", r.Gaps)} {Flag("duplicates", r.Duplicates)} reconnects {r.Reconnects} unrecoverable {r.Unrecoverable} " +
        $"latency p50 {r.LatencyMs.P50:0.#} ms p99 {r.LatencyMs.P99:0.#} ms";

    public static void WriteTable(RunReport r)
    {
        var table = new Table().Title("LongLived emulator").AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        void Row(string name, object value) => table.AddRow(name, Markup.Escape(value.ToString() ?? ""));
        Row("clients", r.Clients);
        Row("duration (s)", r.DurationSeconds);
        Row("received", r.Received);
        Row("gaps", r.Gaps);
        Row("duplicates", r.Duplicates);
        Row("reconnects", r.Reconnects);
        Row("resumed clients", r.ResumedClients);
        Row("unrecoverable", r.Unrecoverable);
        Row("published", r.Published);
        Row("latency p50 / p99 (ms)", $"{r.LatencyMs.P50} / {r.LatencyMs.P99}");
        Row("resume p50 / p99 (ms)", $"{r.ResumeMs.P50} / {r.ResumeMs.P99}");
        Row("reattach p50 / p99 (ms)", $"{r.ReattachMs.P50} / {r.ReattachMs.P99}");
        AnsiConsole.Write(table);
    }

    private static string Flag(string name, long value) => value == 0 ? $"{name} 0" : $"[red]{name} {value}[/]";
}
