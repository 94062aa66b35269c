using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ScottPlot;

namespace LongLived.Bench;

/// <summary>Writes a run as bench/results/&lt;label&gt;.json (and latest.json), docs/benchmarks.md and the PNG plots.</summary>
public sealed class Report(string mode, string label, int runs, DateTimeOffset started, Figures figures)
{
    /// <summary>(what, product key, bare key, unit, target): the table of docs/benchmarks.md.</summary>
    private static readonly (string What, string Product, string? Bare, string Unit, string Target)[] Rows =
    [
        ("gateway memory per idle stream", "idle.gatewayKBPerStream", "idle.bareKBPerStream", "KB", "≤ 1.5 × bare"),
        ("gateway GC heap per idle stream (live objects)", "idle.gatewayHeapKBPerStream", "idle.bareHeapKBPerStream", "KB", ""),
        ("silo memory per idle client", "idle.siloKBPerClient", null, "KB", "≤ 8 KB"),
        ("silo GC heap per idle client (live objects)", "idle.siloHeapKBPerClient", null, "KB", "≤ 4 KB"),
        ("time to establish the idle streams", "idle.establishSeconds", "idle.bareEstablishSeconds", "s", "≤ 2 × bare"),
        ("CPU while the idle streams stay idle, after 30 s (quick) or 60 s (full) to settle (all servers)", "idle.cpuCores", "idle.bareCpuCores", "cores", "≤ 0.05 (50k streams)"),
        ("own channel: delivered / offered", "ownChannel.deliveredRatio", "ownChannel.bareDeliveredRatio", "", "≥ 0.999"),
        ("own channel: messages/s", "ownChannel.msgsPerSec", "ownChannel.bareMsgsPerSec", "msg/s", ""),
        ("own channel: latency p50", "latency.p50Ms", "latency.bareP50Ms", "ms", "≤ 5 ms"),
        ("own channel: latency p99", "latency.p99Ms", "latency.bareP99Ms", "ms", "≤ 50 ms"),
        ("own channel: latency p99.9", "latency.p999Ms", "latency.bareP999Ms", "ms", ""),
        ("own channel: CPU per message (all servers)", "ownChannel.cpuMicrosPerMessage", "ownChannel.bareCpuMicrosPerMessage", "µs", "≤ 1.5 × bare"),
        ("own channel: gaps / duplicates", "ownChannel.gaps", "ownChannel.bareGaps", "", "0"),
        ("topic fan-out, 3 gateways: deliveries/s with p99 ≤ 100 ms", "fanout.deliveriesPerSec", "fanout.bareDeliveriesPerSec", "/s", ""),
        ("topic fan-out, 1 gateway: deliveries/s with p99 ≤ 100 ms", "fanout.oneGateway.deliveriesPerSec", "fanout.oneGateway.bareDeliveriesPerSec", "/s", "≥ 0.8 × bare"),
        ("topic fan-out, 1 gateway: CPU per delivery (all servers)", "fanout.oneGateway.cpuMicrosPerDelivery", "fanout.oneGateway.bareCpuMicrosPerDelivery", "µs", "≤ 1.5 × bare"),
        ("stream-queue reads per second while idle", "streams.idleQueueReadsPerSec", null, "/s", "≈ 0"),
        ("publish latency, history 10", "history.publishMsAt10", null, "ms", ""),
        ("publish latency, history 10,000", "history.publishMsAt10k", null, "ms", ""),
        ("publish cost ratio, history 10,000 : 10", "history.costRatio10kTo10", null, "×", "≤ 1.1"),
        ("silo CPU per publish ratio, 10,000 : 10", "history.cpuRatio10kTo10", null, "×", ""),
        ("failover: resume p50 after kill -9 (bare: first message on the other relay)", "failover.p50ResumeMs", "failover.bareP50ResumeMs", "ms", ""),
        ("failover: resume p99 after kill -9", "failover.p99ResumeMs", "failover.bareP99ResumeMs", "ms", "< 2000 ms"),
        ("failover: resumed within 2 s", "failover.resumedWithin2sRatio", "failover.bareResumedWithin2sRatio", "", "≥ 0.99"),
        ("failover: reattached (headers back) within 2 s", "failover.reattachedWithin2sRatio", "failover.bareReattachedWithin2sRatio", "", ""),
        ("failover: gaps / duplicates", "failover.gaps", null, "", "0 / 0"),
    ];

    /// <summary>Without <paramref name="docsDir"/> (a partial run) only <c>&lt;label&gt;.json</c> is written.</summary>
    public void Write(string resultsDir, string? docsDir)
    {
        Directory.CreateDirectory(resultsDir);
        var json = ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (label != "latest") File.WriteAllText(Path.Combine(resultsDir, $"{label}.json"), json);
        if (docsDir is null) return;
        File.WriteAllText(Path.Combine(resultsDir, "latest.json"), json);
        Render(resultsDir, docsDir);
    }

    /// <summary>docs/benchmarks.md (and the plots, when this report has their series) from this report and any "before" run.</summary>
    public void Render(string resultsDir, string docsDir)
    {
        Directory.CreateDirectory(Path.Combine(docsDir, "img"));
        if (figures.Series.Count > 0) Plots(Path.Combine(docsDir, "img"));
        File.WriteAllText(Path.Combine(docsDir, "benchmarks.md"), Markdown(resultsDir));
    }

    private JsonObject ToJson()
    {
        var root = new JsonObject
        {
            ["mode"] = mode, ["label"] = label, ["runs"] = runs, ["started"] = started.ToString("u"),
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription, ["dotnet"] = Environment.Version.ToString() },
            ["workerThreads"] = Deployment.WorkerThreads,
        };
        foreach (var (key, value) in figures.Values.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            var parts = key.Split('.');
            var node = root;
            foreach (var part in parts[..^1]) node = (node[part] ??= new JsonObject()).AsObject();
            node[parts[^1]] = double.IsFinite(value) ? value : null;
        }
        var processes = new JsonObject();
        foreach (var (step, list) in figures.Processes) processes[step] = new JsonArray([.. list.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["cores"] = p.Cores, ["rssMB"] = p.RssMB })]);
        root["processes"] = processes;
        var series = new JsonObject();
        foreach (var (name, points) in figures.Series) series[name] = new JsonArray([.. points.Select(p => (JsonNode)new JsonArray(p.X, p.Y))]);
        root["series"] = series;
        return root;
    }

    /// <summary>A report of an earlier run, read back from its JSON (to render the docs again, e.g. next to a newer "before").</summary>
    public static Report Load(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var figures = new Figures();
        foreach (var (group, node) in root)
        {
            if (group is "processes" or "series" or "machine" or "workerThreads" || node is not JsonObject values) continue;
            Flatten(group, values);
        }
        foreach (var (step, list) in root["processes"]?.AsObject() ?? [])
            figures.Processes[step] = [.. list!.AsArray().Select(p => new ProcessFigure((string)p!["name"]!, (double)p["cores"]!, (double)p["rssMB"]!))];
        foreach (var (name, points) in root["series"]?.AsObject() ?? [])
            foreach (var point in points!.AsArray()) figures.Add(name, (double)point![0]!, (double)point[1]!);
        return new Report((string)root["mode"]!, (string)root["label"]!, (int)root["runs"]!, DateTimeOffset.Parse((string)root["started"]!), figures);

        // Nested groups too (fanout.oneGateway.*): the rendered table reads them by their dotted key.
        void Flatten(string prefix, JsonObject values)
        {
            foreach (var (key, value) in values)
            {
                if (value is JsonObject inner) Flatten($"{prefix}.{key}", inner);
                else figures.Values[$"{prefix}.{key}"] = value is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN;
            }
        }
    }

    private string Markdown(string resultsDir)
    {
        var before = ReadJson(Path.Combine(resultsDir, $"before-{mode}.json")) ?? ReadJson(Path.Combine(resultsDir, "before.json"));
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks").AppendLine();
        md.AppendLine("Generated by `./bench.sh " + mode + "` (bench/Bench); do not edit by hand. The product is one silo (embedded defaults: memory storage and");
        md.AppendLine("streams) and one gateway (three for fan-out, two for failover); the baseline is `bench/BareRelay`, a bare grpc-dotnet server of the");
        md.AppendLine("same `protos.Longlived` contract streaming from memory with the gateway's Kestrel settings. One load client (8 HTTP/2");
        md.AppendLine("connections per server) drives both sides, in the same run, on the same machine: every process shares its cores.").AppendLine();
        md.AppendLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; every server process (product and bare relay) with {(Deployment.WorkerThreads > 0 ? $"{Deployment.WorkerThreads} thread-pool worker(s)" : ".NET's default thread pool")} (`Runtime:WorkerThreads`, `BENCH_WORKER_THREADS`). Run started {started:u}, mode `{mode}`; the history scenario is the median of {runs} run(s), the others are single runs (minutes long, or a series).").AppendLine();
        md.AppendLine($"Scale of this run: idle {V("idle.streams")} streams; own channel {V("ownChannel.clients")} clients × 1 msg/s for {V("ownChannel.seconds")} s; fan-out {V("fanout.subscribers")} subscribers over {V("fanout.gateways")} gateways; failover {V("failover.clients")} clients.").AppendLine();
        md.Append("| figure | bare relay | LongLived | ratio | target |");
        if (before is not null) md.Append($" before the redesign ({before["mode"]} run) |");
        md.AppendLine().Append("|---|---|---|---|---|").AppendLine(before is null ? "" : "---|");
        foreach (var row in Rows)
        {
            if (!figures.Values.ContainsKey(row.Product)) continue;
            var product = figures.Values[row.Product];
            var bare = row.Bare is null ? double.NaN : figures.Values.GetValueOrDefault(row.Bare, double.NaN);
            var ratio = double.IsFinite(bare) && bare != 0 && double.IsFinite(product) ? $"{product / bare:0.##}×" : "";
            md.Append($"| {row.What} | {Format(bare, row.Unit)} | {Format(product, row.Unit)} | {ratio} | {row.Target} |");
            if (before is not null) md.Append($" {Format(Lookup(before, row.Product), row.Unit)} |");
            md.AppendLine();
        }
        var quickBefore = ReadJson(Path.Combine(resultsDir, "before.json"));
        var quickAfter = ReadJson(Path.Combine(resultsDir, "after-quick.json"));
        if (quickBefore is not null && quickAfter is not null)
        {
            md.AppendLine().AppendLine("Before and after the redesign at the same (quick) scale, each against the bare relay of its own run:").AppendLine();
            md.AppendLine("| figure | before | bare (before run) | after | bare (after run) | target |").AppendLine("|---|---|---|---|---|---|");
            foreach (var row in Rows)
            {
                var b = Lookup(quickBefore, row.Product);
                var a = Lookup(quickAfter, row.Product);
                if (!double.IsFinite(a) && !double.IsFinite(b)) continue;
                var bb = row.Bare is null ? double.NaN : Lookup(quickBefore, row.Bare);
                var ab = row.Bare is null ? double.NaN : Lookup(quickAfter, row.Bare);
                md.AppendLine($"| {row.What} | {Format(b, row.Unit)} | {Format(bb, row.Unit)} | {Format(a, row.Unit)} | {Format(ab, row.Unit)} | {row.Target} |");
            }
        }
        md.AppendLine().AppendLine("Each process's CPU (cores, averaged over the step) and resident memory at its end:").AppendLine();
        md.AppendLine("| step | process | CPU cores | RSS MB |").AppendLine("|---|---|---|---|");
        foreach (var (step, list) in figures.Processes)
            foreach (var p in list) md.AppendLine($"| {step} | {p.Name} | {p.Cores:0.###} | {p.RssMB:0.#} |");
        md.AppendLine().AppendLine(figures.Series.Count > 0 ? "Plots of this run:"
            : "Plots of the most recent run that recorded plot data (bench/results/latest.json; this run predates it):").AppendLine();
        md.AppendLine("![latency CDF](img/bench-latency-cdf.png)").AppendLine();
        md.AppendLine("![latency over time](img/bench-latency-over-time.png)").AppendLine();
        md.AppendLine("![memory per stream](img/bench-memory.png)").AppendLine();
        md.AppendLine("![fan-out delivered vs offered](img/bench-fanout.png)").AppendLine();
        md.AppendLine("![failover](img/bench-failover.png)").AppendLine();
        return md.ToString();

        string V(string key) => figures.Values.TryGetValue(key, out var v) && double.IsFinite(v) ? v.ToString("#,0") : "—";
    }

    private static string Format(double value, string unit) =>
        !double.IsFinite(value) ? "—" : value >= 1000 ? $"{value:#,0} {unit}".Trim() : value >= 10 ? $"{value:0.#} {unit}".Trim() : $"{value:0.###} {unit}".Trim();

    private static JsonNode? ReadJson(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;

    private static double Lookup(JsonNode root, string key)
    {
        JsonNode? node = root;
        foreach (var part in key.Split('.')) node = node?[part];
        return node is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN;
    }

    private void Plots(string dir)
    {
        Plot("bench-latency-cdf.png", "Own channel: latency CDF", "latency (ms, log10)", "fraction of messages", ["cdf product", "cdf bare"], logX: true);
        Plot("bench-latency-over-time.png", "Own channel: latency over time", "seconds since the streams opened", "latency (ms, log10)", ["p50 product", "p99 product", "p50 bare", "p99 bare"], logY: true);
        Plot("bench-memory.png", "Idle streams: memory per stream", "streams", "KB per stream (RSS after a forced GC)", ["gatewayKBPerStream", "bareKBPerStream", "siloKBPerClient"]);
        Plot("bench-fanout.png", "One topic: delivered vs offered", "offered deliveries/s", "delivered deliveries/s", ["delivered product", "delivered bare"]);
        Plot("bench-failover.png", "Gateway kill -9: clients receiving again", "ms after the kill", "fraction of clients", ["resumed", "resumed bare"]);

        void Plot(string file, string title, string x, string y, string[] series, bool logX = false, bool logY = false)
        {
            var plot = new Plot();
            plot.Title(title);
            plot.XLabel(x);
            plot.YLabel(y);
            foreach (var name in series)
            {
                if (!figures.Series.TryGetValue(name, out var points) || points.Count == 0) continue;
                var xs = points.Select(p => logX ? Math.Log10(Math.Max(p.X, 0.001)) : p.X).ToArray();
                var ys = points.Select(p => logY ? Math.Log10(Math.Max(p.Y, 0.001)) : p.Y).ToArray();
                var scatter = plot.Add.Scatter(xs, ys);
                scatter.LegendText = name;
            }
            plot.ShowLegend();
            plot.SavePng(Path.Combine(dir, file), 900, 500);
        }
    }
}
