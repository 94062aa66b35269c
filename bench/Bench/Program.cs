using LongLived.Bench;

// ./bench.sh [quick|full] [--only idle,own,fanout,history,failover] [--label name]
// ./bench.sh render [label]: docs/benchmarks.md again from bench/results/<label>.json (default latest)
if (args.FirstOrDefault() == "render")
{
    var source = Repo.Path($"bench/results/{(args.Length > 1 ? args[1] : "latest")}.json");
    Report.Load(source).Render(Repo.Path("bench/results"), Repo.Path("docs"));
    Console.WriteLine($"docs/benchmarks.md rendered from {source}");
    return 0;
}
var mode = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "quick";
if (mode is not ("quick" or "full")) { Console.Error.WriteLine("usage: bench [quick|full] [--only idle,own,fanout,history,failover] [--label name]"); return 2; }
var only = Option("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
var label = Option("--label") ?? (args.Contains("--only") ? "partial" : "latest");
var quick = mode == "quick";
var runs = quick ? 1 : 3;
var logs = Repo.Path("bench/results/logs");
var started = DateTimeOffset.UtcNow;
Console.WriteLine($"bench {mode}: {runs} run(s) per scenario, logs in {logs}");

var all = new Figures();
// Repeated (median of `runs`): history. Single runs (each already minutes long, or already a series): the others.
await RunAsync("idle", 1, () => Scenarios.IdleAsync(logs, quick ? [10_000] : [10_000, 50_000, 100_000], TimeSpan.FromSeconds(60))); // idle CPU after establishment work is over (tiering, first sweeps): docs/data-path.md
await RunAsync("own", 1, () => Scenarios.OwnChannelAsync(logs, quick ? 1_000 : 10_000, TimeSpan.FromSeconds(quick ? 30 : 120)));
await RunAsync("fanout", 1, async () =>
{
    // Three gateways (the product's shape), and one gateway against the one bare relay (the same process count).
    var rates = quick ? new[] { 10, 50, 100 } : [2, 5, 10, 20, 50];
    var (step, settle) = (TimeSpan.FromSeconds(quick ? 5 : 10), TimeSpan.FromSeconds(quick ? 20 : 60));
    var figures = await Scenarios.FanoutAsync(logs, quick ? 1_000 : 10_000, 3, rates, step, settle);
    figures.Merge(await Scenarios.FanoutAsync(logs, quick ? 1_000 : 10_000, 1, rates, step, settle, "fanout.oneGateway"));
    return figures;
});
await RunAsync("history", runs, () => Scenarios.HistoryAsync(logs, quick ? 1000 : 2000));
await RunAsync("failover", 1, () => Scenarios.FailoverAsync(logs, quick ? 1_000 : 10_000));

var report = new Report(mode, label, runs, started, all);
// A partial run (--only) is an experiment: it goes to its own file and leaves latest.json and the docs to full runs.
var partial = only is not null;
report.Write(Repo.Path("bench/results"), partial ? null : Repo.Path("docs"));
Console.WriteLine($"bench {mode}: done in {(DateTimeOffset.UtcNow - started).TotalMinutes:F1} min; " +
    (partial ? $"bench/results/{label}.json" : $"bench/results/latest.json{(label == "latest" ? "" : $", {label}.json")}, docs/benchmarks.md"));
return 0;

async Task RunAsync(string name, int times, Func<Task<Figures>> scenario)
{
    if (only is not null && !only.Contains(name)) return;
    Console.WriteLine($"{name}:");
    var results = new List<Figures>();
    for (var i = 0; i < times; i++)
    {
        try { results.Add(await scenario()); }
        catch (Exception ex) { Console.WriteLine($"  {name} run {i + 1} failed: {ex.Message}"); }
    }
    if (results.Count > 0) all.Merge(Figures.Median(results));
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
