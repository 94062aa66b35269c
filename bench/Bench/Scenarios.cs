using System.Diagnostics;
using LongLived.Contracts;

namespace LongLived.Bench;

/// <summary>The five scenarios of the suite. Each starts its own deployments, so one cannot disturb the next.</summary>
public static class Scenarios
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>
    /// 1. Idle streams (no generator): memory per stream after a forced GC, time to establish, errors, and the CPU the
    /// servers spend holding them once <paramref name="settle"/> has let establishment work (tiering, GC, the first
    /// head checks) die down.
    /// </summary>
    public static async Task<Figures> IdleAsync(string logs, int[] sizes, TimeSpan settle)
    {
        var figures = new Figures();
        foreach (var n in sizes)
        {
            foreach (var bare in Sides)
            {
                await using var deployment = bare ? await Deployment.BareAsync(logs, TimeSpan.Zero) : await Deployment.ProductAsync(logs, 1, TimeSpan.Zero);
                using var load = new LoadClient(deployment.Addresses);
                var recorder = new Recorder(Second);
                await using (var warm = await Opened.StartAsync(load, WarmUpStreams, _ => [0], [], "warm", recorder, TimeSpan.FromSeconds(60))) { }
                await Task.Delay(5000);
                var before = await RssAfterGcAsync(deployment);
                await using var opened = await Opened.StartAsync(load, n, _ => [0], [], "idle", recorder, TimeSpan.FromSeconds(300));
                await Task.Delay(settle);
                // What holding idle streams costs: nothing is published, so any CPU here is the servers' own upkeep.
                // The stream-queue counter is read before the CPU window opens: a /metrics scrape at 10,000 grains costs the
                // silo tens of milliseconds (Orleans' observable instruments walk its directory), which is not idle upkeep.
                var readsBefore = bare ? 0 : await deployment.StreamQueueReadsAsync();
                var cpu = deployment.CpuNow();
                await Task.Delay(10_000);
                var idleProcesses = deployment.Figures(cpu, TimeSpan.FromSeconds(10));
                if (!bare && n == sizes[^1]) figures["streams.idleQueueReadsPerSec"] = (await deployment.StreamQueueReadsAsync() - readsBefore) / 10.0;
                var after = await RssAfterGcAsync(deployment);
                var side = bare ? "bare" : "gateway";
                var kb = (after["relay"] - before["relay"]) / 1024.0 / n;
                var heapKB = (after["relay.heap"] - before["relay.heap"]) / 1024.0 / n;
                figures.Add($"{side}HeapKBPerStream", n, heapKB);
                figures.Add($"{side}KBPerStream", n, kb);
                figures.Add($"{side}EstablishSeconds", n, opened.EstablishSeconds);
                if (n == sizes[^1])
                {
                    figures[bare ? "idle.bareKBPerStream" : "idle.gatewayKBPerStream"] = kb;
                    figures[bare ? "idle.bareHeapKBPerStream" : "idle.gatewayHeapKBPerStream"] = heapKB;
                    figures[bare ? "idle.bareEstablishSeconds" : "idle.establishSeconds"] = opened.EstablishSeconds;
                    figures[bare ? "idle.bareErrors" : "idle.errors"] = opened.NotEstablished;
                    figures.Processes[$"idle {side} {n}"] = idleProcesses;
                    figures[bare ? "idle.bareCpuCores" : "idle.cpuCores"] = idleProcesses.Sum(p => p.Cores);
                }
                if (n == 50_000) figures[bare ? "idle.bareCpuCoresAt50kAfter60s" : "idle.cpuCoresAt50kAfter60s"] = idleProcesses.Sum(p => p.Cores);
                if (!bare)
                {
                    var silo = (after["silo"] - before["silo"]) / 1024.0 / n;
                    var siloHeap = (after["silo.heap"] - before["silo.heap"]) / 1024.0 / n;
                    figures.Add("siloKBPerClient", n, silo);
                    if (n == sizes[^1])
                    {
                        figures["idle.siloKBPerClient"] = silo;
                        figures["idle.siloHeapKBPerClient"] = siloHeap;
                    }
                }
                Console.WriteLine($"  idle {n,7} {(bare ? "bare" : "product"),-8} established in {opened.EstablishSeconds:F1} s ({opened.NotEstablished} not), {kb:F1} KB/stream");
            }
        }
        figures["idle.streams"] = sizes[^1];
        return figures;
    }

    /// <summary>Both sides, or one (BENCH_SIDES=product|bare) for an experiment that needs only that one.</summary>
    private static readonly bool[] Sides = Environment.GetEnvironmentVariable("BENCH_SIDES") switch
    {
        "product" => [false],
        "bare" => [true],
        _ => [false, true],
    };

    /// <summary>2. Own channel at 1 msg/s per client: delivered/offered, latency (and over time), CPU per 10k messages.</summary>
    public static async Task<Figures> OwnChannelAsync(string logs, int clients, TimeSpan duration)
    {
        var figures = new Figures();
        foreach (var bare in Sides)
        {
            await using var deployment = bare ? await Deployment.BareAsync(logs, Second) : await Deployment.ProductAsync(logs, 1, Second);
            using var load = new LoadClient(deployment.Addresses);
            var recorder = new Recorder(TimeSpan.FromSeconds(5));
            await using var opened = await Opened.StartAsync(load, clients, _ => [0], [], "own", recorder, TimeSpan.FromSeconds(300));
            await Task.Delay(5000); // every generator started, the JIT warm
            var cpu = deployment.CpuNow();
            var siloRssStart = deployment.Silo?.RssBytes ?? 0;
            var gcs = deployment.Processes.Select(p => (p.Name, Listener: GcPauses.Start(p.Pid))).ToList();
            var clientCpu = Process.GetCurrentProcess().TotalProcessorTime; // the load client shares the cores: its load is context
            var (clientGcs, clientPaused) = (GC.CollectionCount(0), GC.GetTotalPauseDuration());
            recorder.Measuring = true;
            var watch = Stopwatch.StartNew();
            await Task.Delay(duration);
            recorder.Measuring = false;
            var elapsed = watch.Elapsed;
            // Read before the GC listeners stop: ending their sessions is the bench's own work, outside the window (both sides).
            var clientCores = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu) / elapsed;
            var clientCollections = GC.CollectionCount(0) - clientGcs;
            var clientPausedPercent = (GC.GetTotalPauseDuration() - clientPaused) / elapsed * 100;
            var processes = deployment.Figures(cpu, elapsed);
            foreach (var (name, listener) in gcs)
            {
                if (listener is null) continue;
                using (listener) GcFigures(figures, $"ownChannel.gc.{name}", await listener.StopAsync(), elapsed);
            }
            var cpuSeconds = processes.Sum(p => p.Cores) * elapsed.TotalSeconds;
            var prefix = bare ? "bare" : "";
            figures[bare ? "ownChannel.bareLoadClientCores" : "ownChannel.loadClientCores"] = clientCores;
            figures[bare ? "ownChannel.bareLoadClientGcPausedPercent" : "ownChannel.loadClientGcPausedPercent"] = clientPausedPercent;
            Console.WriteLine($"    load client: {clientCollections} collections, paused {clientPausedPercent:F2} % of the time");
            figures[bare ? "ownChannel.bareDeliveredRatio" : "ownChannel.deliveredRatio"] = recorder.Received / (clients * elapsed.TotalSeconds);
            figures[bare ? "ownChannel.bareMsgsPerSec" : "ownChannel.msgsPerSec"] = recorder.Received / elapsed.TotalSeconds;
            figures[bare ? "ownChannel.bareCpuSecondsPer10k" : "ownChannel.cpuSecondsPer10k"] = cpuSeconds / Math.Max(recorder.Received, 1) * 10_000;
            figures[bare ? "ownChannel.bareCpuMicrosPerMessage" : "ownChannel.cpuMicrosPerMessage"] = cpuSeconds / Math.Max(recorder.Received, 1) * 1e6;
            figures[bare ? "ownChannel.bareGaps" : "ownChannel.gaps"] = recorder.Gaps;
            figures[bare ? "ownChannel.bareDuplicates" : "ownChannel.duplicates"] = recorder.Duplicates;
            figures[Key("latency", prefix, "P50Ms")] = recorder.Latency.Percentile(0.50);
            figures[Key("latency", prefix, "P99Ms")] = recorder.Latency.Percentile(0.99);
            figures[Key("latency", prefix, "P999Ms")] = recorder.Latency.Percentile(0.999);
            if (!bare)
            {
                figures["ownChannel.siloRssStartMB"] = siloRssStart / 1048576.0;
                figures["ownChannel.siloRssEndMB"] = (deployment.Silo?.RssBytes ?? 0) / 1048576.0;
            }
            var side = bare ? "bare" : "product";
            foreach (var (ms, fraction) in recorder.Latency.Cdf()) figures.Add($"cdf {side}", ms, fraction);
            var windows = recorder.Windows;
            for (var i = 0; i < windows.Count; i++)
            {
                if (windows[i].Count == 0) continue;
                figures.Add($"p99 {side}", i * 5, windows[i].Percentile(0.99));
                figures.Add($"p50 {side}", i * 5, windows[i].Percentile(0.50));
            }
            figures.Processes[$"own channel {side} {clients}"] = processes;
            Console.WriteLine($"  own channel {clients} {side}: {recorder.Received / elapsed.TotalSeconds:F0} msg/s, p50 {recorder.Latency.Percentile(0.5):F2} ms, p99 {recorder.Latency.Percentile(0.99):F2} ms, gaps {recorder.Gaps}, dups {recorder.Duplicates}; cores: servers {processes.Sum(p => p.Cores):F2}, load client {clientCores:F2}");
        }
        figures["ownChannel.clients"] = clients;
        figures["ownChannel.seconds"] = duration.TotalSeconds;
        return figures;
    }

    /// <summary>A process's collections while measured: how many, the longest pause, and the share of the time paused.</summary>
    private static void GcFigures(Figures figures, string key, IReadOnlyList<(int Generation, double Ms)> pauses, TimeSpan elapsed)
    {
        var gen0 = pauses.Where(p => p.Generation == 0).Select(p => p.Ms).Order().ToArray();
        var longest = pauses.Count == 0 ? 0 : pauses.Max(p => p.Ms);
        var median = gen0.Length == 0 ? 0 : gen0[gen0.Length / 2];
        var pausedPercent = pauses.Sum(p => p.Ms) / elapsed.TotalMilliseconds * 100;
        figures[$"{key}.collections"] = pauses.Count;
        figures[$"{key}.gen0Collections"] = gen0.Length;
        figures[$"{key}.maxPauseMs"] = longest;
        figures[$"{key}.medianGen0PauseMs"] = median;
        figures[$"{key}.pausedPercent"] = pausedPercent;
        Console.WriteLine($"    {key}: {pauses.Count} collections, gen0 median {median:F1} ms, longest {longest:F1} ms, paused {pausedPercent:F2} % of the time");
    }

    /// <summary>3. One topic, many subscribers over the gateways, publish rate stepped up until p99 passes 100 ms.</summary>
    public static async Task<Figures> FanoutAsync(string logs, int subscribers, int gateways, int[] rates, TimeSpan step, TimeSpan settle, string key = "fanout")
    {
        var figures = new Figures();
        // CPU per delivery falls as the rate rises (fixed costs spread, writes batched): compared at the product's best rate.
        var cpuAt = new Dictionary<(bool Bare, int Rate), double>();
        var productBest = 0;
        foreach (var bare in Sides)
        {
            await using var deployment = bare ? await Deployment.BareAsync(logs, TimeSpan.Zero) : await Deployment.ProductAsync(logs, gateways, TimeSpan.Zero);
            using var load = new LoadClient(deployment.Addresses);
            var servers = deployment.Addresses.Count;
            var recorder = new Recorder(step);
            await using var opened = await Opened.StartAsync(load, subscribers, i => [i % servers], ["fanout"], "fan", recorder, TimeSpan.FromSeconds(300));
            // Warm-up, not measured: the first deliveries pay JIT. Three messages, then time for the work of opening the
            // streams to end (activations, storage, GC, tier-1 JIT): measured right after it, the CPU of the first
            // steps was mostly that (the silo spent 0.23 cores at 10 publishes/s, the bare relay as much at 10/s as at 100/s).
            await PublishAtRateAsync(load, "fanout", 3, TimeSpan.FromSeconds(1));
            await Task.Delay(settle);
            var side = bare ? "bare" : "product";
            double best = 0;
            foreach (var rate in rates)
            {
                var (delivered, p99, cpuMicros, seconds) = await StepAsync(rate, $"{key} {side} {rate}/s");
                figures.Add($"delivered {side}{(gateways == 1 ? " 1 gw" : "")}", (double)rate * subscribers, delivered);
                figures.Add($"p99 {side}{(gateways == 1 ? " 1 gw" : "")}", (double)rate * subscribers, p99);
                cpuAt[(bare, rate)] = cpuMicros;
                if (p99 > 100 || delivered < 0.9 * rate * subscribers * step.TotalSeconds / seconds) break;
                best = delivered;
                if (!bare) productBest = rate;
            }
            figures[bare ? $"{key}.bareDeliveriesPerSec" : $"{key}.deliveriesPerSec"] = best;
            // CPU per delivery is compared at one rate (the product's best); one 5 s step of it moved ±15 % between runs on
            // these shared cores, so that rate gets two more windows on each side and the median of the three counts.
            var again = productBest > 0 ? productBest : rates[0];
            if (cpuAt.ContainsKey((bare, again)))
            {
                var windows = new List<double> { cpuAt[(bare, again)] };
                for (var i = 2; i <= 3; i++) windows.Add((await StepAsync(again, $"{key} {side} {again}/s, window {i}")).CpuMicros);
                cpuAt[(bare, again)] = windows.Order().ElementAt(1);
            }

            async Task<(double Delivered, double P99, double CpuMicros, double Seconds)> StepAsync(int rate, string name)
            {
                recorder.Reset();
                var cpu = deployment.CpuNow();
                recorder.Measuring = true;
                var watch = Stopwatch.StartNew();
                await PublishAtRateAsync(load, "fanout", rate, step);
                await Task.Delay(500); // the last messages in flight
                recorder.Measuring = false;
                var elapsed = watch.Elapsed;
                var delivered = recorder.Received / elapsed.TotalSeconds;
                var p99 = recorder.Latency.Percentile(0.99);
                var processes = deployment.Figures(cpu, elapsed);
                var cpuMicros = processes.Sum(p => p.Cores) * elapsed.TotalSeconds / Math.Max(recorder.Received, 1) * 1e6;
                figures.Processes[name] = processes;
                Console.WriteLine($"  {name} × {subscribers} on {servers}: {delivered:F0} deliveries/s, p99 {p99:F1} ms, {cpuMicros:F1} µs CPU per delivery");
                return (delivered, p99, cpuMicros, elapsed.TotalSeconds);
            }
        }
        var compareAt = productBest > 0 ? productBest : rates[0];
        figures[$"{key}.cpuMicrosPerDelivery"] = cpuAt.GetValueOrDefault((false, compareAt));
        figures[$"{key}.bareCpuMicrosPerDelivery"] = cpuAt.GetValueOrDefault((true, compareAt));
        figures[$"{key}.cpuComparedAtRate"] = compareAt;
        figures[$"{key}.subscribers"] = subscribers;
        figures[$"{key}.gateways"] = gateways;
        return figures;
    }

    /// <summary>4. Publish cost with 10 and with 10,000 messages of history (product only: the bare relay keeps none).</summary>
    public static async Task<Figures> HistoryAsync(string logs, int publishes)
    {
        var figures = new Figures();
        await using var deployment = await Deployment.ProductAsync(logs, 1, TimeSpan.Zero, historyMaxCount: 10_000);
        using var load = new LoadClient(deployment.Addresses, 1);
        const int smallTopics = 100;
        // Many small topics, so each stays at about 10 entries while measured; one large topic at its 10,000 cap.
        await PrefillAsync(load, Enumerable.Range(0, smallTopics * 10).Select(i => $"hist-small-{i % smallTopics}"));
        await PrefillAsync(load, Enumerable.Range(0, 10_000).Select(_ => "hist-large"));
        var client = load.For(0, 0);
        double small = 0, large = 0, smallCpu = 0, largeCpu = 0;
        for (var round = 0; round < 2; round++)
        {
            (var ms, var cpu) = await SequentialAsync(i => $"hist-small-{i % smallTopics}");
            if (round > 0) { small = ms; smallCpu = cpu; } // round 0 warms up
            (ms, cpu) = await SequentialAsync(_ => "hist-large");
            if (round > 0) { large = ms; largeCpu = cpu; }
        }
        figures["history.publishMsAt10"] = small;
        figures["history.publishMsAt10k"] = large;
        figures["history.siloCpuMsPerPublishAt10"] = smallCpu;
        figures["history.siloCpuMsPerPublishAt10k"] = largeCpu;
        figures["history.costRatio10kTo10"] = large / small;
        figures["history.cpuRatio10kTo10"] = largeCpu / Math.Max(smallCpu, 0.001);
        Console.WriteLine($"  history: publish {small:F2} ms at 10, {large:F2} ms at 10k (silo CPU {smallCpu:F2} / {largeCpu:F2} ms)");
        return figures;

        async Task<(double Ms, double CpuMs)> SequentialAsync(Func<int, string> topic)
        {
            var cpu = deployment.CpuNow();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < publishes; i++) await client.PublishAsync(new PublishRequest { Channel = topic(i), Data = Payload });
            var siloCpu = (deployment.Silo!.CpuSeconds - cpu["silo"]) * 1000 / publishes;
            return (watch.Elapsed.TotalMilliseconds / publishes, siloCpu);
        }
    }

    /// <summary>5. Kill -9 the gateway holding every client: time until 99 % received again (elsewhere), gaps, duplicates.</summary>
    public static async Task<Figures> FailoverAsync(string logs, int clients)
    {
        var figures = new Figures();
        figures["failover.clients"] = clients;
        // The bare side is two independent relays: a moved client only reconnects and subscribes, which is what the load
        // client and the machine allow at best (a bare relay has no history, so its gaps and duplicates mean nothing).
        foreach (var bare in Sides)
        {
            await using var deployment = bare ? await Deployment.BareAsync(logs, Second, relays: 2) : await Deployment.ProductAsync(logs, 2, Second);
            using var load = new LoadClient(deployment.Addresses);
            var recorder = new Recorder(Second);
            await using var opened = await Opened.StartAsync(load, clients, _ => [0, 1], [], "fail", recorder, TimeSpan.FromSeconds(300));
            await Task.Delay(5000);
            recorder.Measuring = true;
            var killedAt = DateTime.UtcNow;
            deployment.Relays.First().Kill();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && opened.Subscribers.Any(s => s.ResumedAtTicks == 0)) await Task.Delay(250);
            await Task.Delay(3000); // let late duplicates show
            recorder.Measuring = false;
            var prefix = bare ? "bare" : "";
            // Resumed: the first message after the new Subscribe (at most a generator interval on the bare side, which
            // has no history to replay); reattached: that Subscribe accepted (headers back).
            var resumes = SinceKill(s => s.ResumedAtTicks);
            var reattaches = SinceKill(s => s.ReattachedAtTicks);
            figures[Key("failover", prefix, "Resumed")] = resumes.Length;
            figures[Key("failover", prefix, "P50ResumeMs")] = Median(resumes);
            figures[Key("failover", prefix, "P99ResumeMs")] = resumes.Length < clients * 99 / 100 ? double.PositiveInfinity : resumes[Math.Max(clients * 99 / 100 - 1, 0)];
            figures[Key("failover", prefix, "ResumedWithin2sRatio")] = resumes.Count(r => r <= 2000) / (double)clients;
            figures[Key("failover", prefix, "ReattachedWithin2sRatio")] = reattaches.Count(r => r <= 2000) / (double)clients;
            figures[Key("failover", prefix, "P50ReattachMs")] = Median(reattaches);
            figures[Key("failover", prefix, "P99ReattachMs")] = reattaches.Length == 0 ? double.NaN : reattaches[Math.Min(reattaches.Length - 1, reattaches.Length * 99 / 100)];
            // Where the time before reattaching goes: the failure reaching the client, its backoff, the new call's answer.
            figures[Key("failover", prefix, "P50FailureSeenMs")] = Median(SinceKill(s => s.FailedAtTicks));
            figures[Key("failover", prefix, "P50RetrySentMs")] = Median(SinceKill(s => s.RetriedAtTicks));
            if (!bare)
            {
                figures["failover.gaps"] = recorder.Gaps;
                figures["failover.duplicates"] = recorder.Duplicates;
            }
            for (var i = 0; i < resumes.Length; i++) figures.Add(bare ? "resumed bare" : "resumed", resumes[i], (i + 1.0) / clients);
            string V(string name) => $"{figures.Values[Key("failover", prefix, name)]:F0}";
            Console.WriteLine($"  failover {clients} {(bare ? "bare" : "product")}: {resumes.Length} resumed, p50 {V("P50ResumeMs")} ms, p99 {V("P99ResumeMs")} ms, " +
                $"{figures.Values[Key("failover", prefix, "ResumedWithin2sRatio")]:P1} within 2 s (failure seen p50 {V("P50FailureSeenMs")} ms, retry sent p50 {V("P50RetrySentMs")} ms, " +
                $"reattached p50 {V("P50ReattachMs")} ms, p99 {V("P99ReattachMs")} ms, {figures.Values[Key("failover", prefix, "ReattachedWithin2sRatio")]:P1} within 2 s), gaps {recorder.Gaps}, dups {recorder.Duplicates}");

            // Milliseconds from the kill to a moment each subscriber recorded (0: it has none), in order.
            double[] SinceKill(Func<Subscriber, long> ticks) => opened.Subscribers.Select(ticks).Where(t => t > 0)
                .Select(t => (new DateTime(t, DateTimeKind.Utc) - killedAt).TotalMilliseconds).Order().ToArray();
        }
        return figures;

        static double Median(double[] ms) => ms.Length == 0 ? double.NaN : ms[ms.Length / 2];
    }

    /// <summary>
    /// Streams each side opens and closes before its idle streams are timed: the JIT's tiers settle first (a perf profile
    /// of a server 8 s after 1,000 streams still spent a third of its CPU in the tiered-compilation thread), on both sides alike.
    /// </summary>
    private const int WarmUpStreams = 2_000;

    private const string Payload = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; // 64 bytes

    private static string Key(string group, string prefix, string name) => prefix.Length == 0 ? $"{group}.{char.ToLowerInvariant(name[0])}{name[1..]}" : $"{group}.{prefix}{name}";

    /// <summary>Per role ("silo", "relay"): RSS after a forced GC, and the GC heap ("silo.heap", "relay.heap").</summary>
    private static async Task<Dictionary<string, long>> RssAfterGcAsync(Deployment deployment)
    {
        var rss = new Dictionary<string, long>();
        foreach (var process in deployment.Processes)
        {
            var role = process.Name == "silo" ? "silo" : "relay";
            rss[$"{role}.heap"] = await process.ForceGcAsync();
            rss[role] = process.RssBytes;
        }
        return rss;
    }

    private static async Task PrefillAsync(LoadClient load, IEnumerable<string> topics)
    {
        await Parallel.ForEachAsync(topics, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (topic, ct) => await load.For(0, 0).PublishAsync(new PublishRequest { Channel = topic, Data = Payload }, cancellationToken: ct));
    }

    /// <summary>Publishes <paramref name="rate"/> messages a second for <paramref name="duration"/>, at most 256 in flight.</summary>
    private static async Task PublishAtRateAsync(LoadClient load, string topic, int rate, TimeSpan duration)
    {
        var total = (int)(rate * duration.TotalSeconds);
        using var inFlight = new SemaphoreSlim(256);
        var pending = new List<Task>(total);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            // Rounded up to whole milliseconds: a fraction of one is a delay of 0, and the loop would spin on the servers' cores.
            var wait = due - watch.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)));
            await inFlight.WaitAsync();
            pending.Add(Task.Run(async () =>
            {
                try { await load.For(i % load.Servers, i).PublishAsync(new PublishRequest { Channel = topic, Data = Payload }); }
                catch (Grpc.Core.RpcException) { }
                finally { inFlight.Release(); }
            }));
        }
        await Task.WhenAll(pending);
    }
}

/// <summary>N subscribers opened together; disposing cancels them all.</summary>
public sealed class Opened : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task[] _tasks = [];

    public Subscriber[] Subscribers { get; private set; } = [];
    public double EstablishSeconds { get; private set; }
    public int NotEstablished { get; private set; }

    public static async Task<Opened> StartAsync(LoadClient load, int n, Func<int, int[]> servers, string[] topics, string prefix, Recorder recorder, TimeSpan timeout)
    {
        var opened = new Opened { Subscribers = new Subscriber[n] };
        var established = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        opened._tasks = new Task[n];
        // Made before the clock starts: with BENCH_TOKEN_KEY each one mints its token.
        for (var i = 0; i < n; i++) opened.Subscribers[i] = new Subscriber($"{prefix}-{i}", topics, servers(i), i);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            var subscriber = opened.Subscribers[i];
            opened._tasks[i] = Task.Run(() => subscriber.RunAsync(load, recorder, _ => { if (Interlocked.Increment(ref established) == n) all.TrySetResult(); }, opened._stop.Token));
        }
        await Task.WhenAny(all.Task, Task.Delay(timeout));
        opened.EstablishSeconds = watch.Elapsed.TotalSeconds;
        opened.NotEstablished = n - Volatile.Read(ref established);
        return opened;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAny(Task.WhenAll(_tasks), Task.Delay(TimeSpan.FromSeconds(30)));
    }
}
