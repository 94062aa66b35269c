namespace LongLived.Bench;

/// <summary>What a scenario runs against: the product (one silo, N gateways) or the bare relay.</summary>
public sealed class Deployment : IAsyncDisposable
{
    private const int SiloPort = 11411, SiloGatewayPort = 30411, SiloHttpPort = 8400, FirstGatewayPort = 7411, BarePort = 7410;

    private Deployment(string kind, IReadOnlyList<ServerProcess> processes, IReadOnlyList<string> addresses)
    {
        Kind = kind;
        Processes = processes;
        Addresses = addresses;
    }

    public string Kind { get; }
    public IReadOnlyList<ServerProcess> Processes { get; }
    public IReadOnlyList<string> Addresses { get; }
    public bool IsBare => Kind == "bare";
    public ServerProcess? Silo => Processes.FirstOrDefault(p => p.Name == "silo");
    public IEnumerable<ServerProcess> Relays => Processes.Where(p => p.Name != "silo");

    /// <summary>One silo with embedded defaults (memory storage and streams) and <paramref name="gateways"/> gateways.</summary>
    /// <summary>
    /// Quotas out of the way: one load client on one address opens 100k streams and publishes as fast as it can; the
    /// bench measures the data path, not Gateway:Limits (which LimitTests cover).
    /// </summary>
    private static readonly string[] Unlimited =
    [
        "--Gateway:Limits:MaxStreams=1000000", "--Gateway:Limits:SubscribesPerSecondPerAddress=1000000", "--Gateway:Limits:SubscribeBurstPerAddress=1000000",
        "--Gateway:Limits:CallsPerSecondPerAddress=1000000", "--Gateway:Limits:CallBurstPerAddress=1000000",
        "--Gateway:Limits:PublishesPerSecond=1000000", "--Gateway:Limits:PublishBurst=1000000",
        "--Gateway:Limits:PublishBytesPerSecond=1000000000", "--Gateway:Limits:PublishBytesBurst=1000000000",
    ];

    /// <summary>
    /// Thread-pool workers of every server process, product and bare relay alike (<c>Runtime:WorkerThreads</c>):
    /// BENCH_WORKER_THREADS, 1 unless set (0: .NET's default). Three busy processes share this machine's two cores; one
    /// worker each is the cheapest for both sides (docs/data-path.md, "One worker per process").
    /// </summary>
    public static int WorkerThreads { get; } = int.TryParse(Environment.GetEnvironmentVariable("BENCH_WORKER_THREADS"), out var n) && n >= 0 ? n : 1;

    public static async Task<Deployment> ProductAsync(string logDir, int gateways, TimeSpan generatorInterval, int historyMaxCount = 1000)
    {
        var silo = ServerProcess.Silo(logDir, [$"--Orleans:SiloPort={SiloPort}", $"--Orleans:GatewayPort={SiloGatewayPort}",
            $"--Silo:HttpPort={SiloHttpPort}", "--Silo:Dashboard=false",
            $"--Generator:Interval={generatorInterval}", $"--History:MaxCount={historyMaxCount}", .. ExtraArgs("BENCH_SILO_ARGS")]);
        var processes = new List<ServerProcess> { silo };
        await StopAllOnFailureAsync(processes, async () =>
        {
            await silo.WaitForPortAsync(SiloGatewayPort, TimeSpan.FromSeconds(60));
            for (var i = 0; i < gateways; i++)
            {
                processes.Add(ServerProcess.Gateway($"gateway{i + 1}", logDir, [$"--Gateway:Port={FirstGatewayPort + i}",
                    $"--Gateway:AdminPort={FirstGatewayPort + 1000 + i}", $"--Orleans:GatewayPorts:0={SiloGatewayPort}", .. Unlimited, .. ExtraArgs("BENCH_GATEWAY_ARGS")]));
            }
            for (var i = 0; i < gateways; i++) await processes[i + 1].WaitForPortAsync(FirstGatewayPort + i, TimeSpan.FromSeconds(60));
        });
        return new Deployment("product", processes, [.. Enumerable.Range(0, gateways).Select(i => $"http://127.0.0.1:{FirstGatewayPort + i}")]);
    }

    /// <summary>
    /// The bare relay (the same contract, from memory); <paramref name="relays"/> independent ones for failover ("bare1",
    /// "bare2", …), where the second knows nothing of the first: a client that moves only reconnects.
    /// </summary>
    public static async Task<Deployment> BareAsync(string logDir, TimeSpan generatorInterval, int relays = 1)
    {
        var ports = Enumerable.Range(0, relays).Select(i => BarePort + 100 * i).ToArray();
        var processes = ports.Select((port, i) => ServerProcess.Bare(relays == 1 ? "bare" : $"bare{i + 1}", logDir, $"--Port={port}", $"--Interval={generatorInterval}")).ToList();
        await StopAllOnFailureAsync(processes, async () =>
        {
            for (var i = 0; i < relays; i++) await processes[i].WaitForPortAsync(ports[i], TimeSpan.FromSeconds(60));
        });
        return new Deployment("bare", processes, [.. ports.Select(port => $"http://127.0.0.1:{port}")]);
    }

    /// <summary>Runs <paramref name="start"/>; if it fails, stops every process started so far (no orphans between runs).</summary>
    private static async Task StopAllOnFailureAsync(List<ServerProcess> processes, Func<Task> start)
    {
        try
        {
            await start();
        }
        catch
        {
            foreach (var p in processes) await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>Settings under test, e.g. BENCH_SILO_ARGS="--Orleans:StreamPollPeriod=00:00:00.005".</summary>
    private static string[] ExtraArgs(string variable) =>
        Environment.GetEnvironmentVariable(variable)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    public double CpuSeconds => Processes.Where(p => p.Running).Sum(p => p.CpuSeconds);

    /// <summary>The silo's stream-queue reads so far (its /metrics, longlived_streams_queue_reads_total); 0 without that metric.</summary>
    public async Task<double> StreamQueueReadsAsync()
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{SiloHttpPort}/metrics");
        return System.Text.RegularExpressions.Regex.Matches(text, @"^longlived_streams_queue_reads_total\{[^}]*\} ([0-9.eE+]+)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Sum(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Each process's CPU (cores, over the interval since <paramref name="since"/>) and RSS now.</summary>
    public IReadOnlyList<ProcessFigure> Figures(IReadOnlyDictionary<string, double> cpuAtStart, TimeSpan elapsed) =>
        [.. Processes.Where(p => p.Running).Select(p => new ProcessFigure(p.Name,
            Math.Round((p.CpuSeconds - cpuAtStart.GetValueOrDefault(p.Name)) / elapsed.TotalSeconds, 3), Math.Round(p.RssBytes / 1048576.0, 1)))];

    public Dictionary<string, double> CpuNow() => Processes.Where(p => p.Running).ToDictionary(p => p.Name, p => p.CpuSeconds);

    public async ValueTask DisposeAsync()
    {
        // Gateways first: a silo stopping under live gateways only makes noise.
        foreach (var p in Processes.Reverse()) await p.DisposeAsync();
    }
}

/// <summary>A process's share of a scenario: CPU in cores, resident memory in MB.</summary>
public sealed record ProcessFigure(string Name, double Cores, double RssMB);
