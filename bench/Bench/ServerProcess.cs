using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LongLived.Bench;

/// <summary>A silo, gateway or bare relay started from its Release build, its output in a log file.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(string name, string dll, string[] args, string logDir)
    {
        Name = name;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Repo.Path(dll));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.ArgumentList.Add("--Logging:LogLevel:Default=Warning"); // the same quiet logs on every side
        info.ArgumentList.Add($"--Runtime:WorkerThreads={Deployment.WorkerThreads}"); // the same thread pool on every side
        // Runtime settings under test, for every server process alike (product and bare relay), e.g. BENCH_SERVER_ENV="DOTNET_gcServer=0".
        foreach (var pair in Environment.GetEnvironmentVariable("BENCH_SERVER_ENV")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            var equals = pair.IndexOf('=');
            if (equals > 0) info.Environment[pair[..equals]] = pair[(equals + 1)..];
        }
        Directory.CreateDirectory(logDir);
        _log = new StreamWriter(Path.Combine(logDir, $"{name}.log"), append: true) { AutoFlush = true };
        _process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {name}");
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool Running => !_process.HasExited;
    public double CpuSeconds => ProcessStats.CpuSeconds(Pid);
    public long RssBytes => ProcessStats.RssBytes(Pid);

    public static ServerProcess Silo(string logDir, params string[] args) => new("silo", "Silo/bin/Release/net10.0/LongLived.Silo.dll", args, logDir);
    public static ServerProcess Gateway(string name, string logDir, params string[] args) => new(name, "Gateway/bin/Release/net10.0/LongLived.Gateway.dll", args, logDir);
    public static ServerProcess Bare(string name, string logDir, params string[] args) => new(name, "bench/BareRelay/bin/Release/net10.0/LongLived.BareRelay.dll", args, logDir);

    /// <summary>Waits until <paramref name="port"/> accepts connections.</summary>
    public async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && Running)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) { await Task.Delay(200); }
        }
        throw new TimeoutException($"{Name}: port {port} not open after {timeout} (running: {Running})");
    }

    /// <summary>
    /// Forces a full GC in the process (dotnet-gcdump induces one) so RSS reflects live memory, and returns the GC heap
    /// bytes the dump found (0 when the tool is missing or failed).
    /// </summary>
    public async Task<long> ForceGcAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bench-{Pid}.gcdump");
        try
        {
            if (await ToolAsync(["collect", "-p", Pid.ToString(), "-o", file]) is null) return 0;
            var report = await ToolAsync(["report", file]);
            var line = report?.Split('\n').FirstOrDefault(l => l.Contains("GC Heap bytes"));
            return line is null ? 0 : long.Parse(line.Trim().Split(' ')[0].Replace(",", ""));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string?> ToolAsync(string[] args)
    {
        var info = new ProcessStartInfo("dotnet", ["tool", "run", "dotnet-gcdump", .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.Root,
        };
        using var tool = Process.Start(info)!;
        var output = tool.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try { await tool.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { tool.Kill(); return null; }
        return tool.ExitCode == 0 ? await output : null;
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        if (!Running) return;
        _process.Kill();
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (Running)
        {
            _ = SysKill(Pid, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { Kill(); }
        }
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_log) _log.WriteLine(line);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}

/// <summary>The repository the benchmark runs in (found from the binary's folder).</summary>
public static class Repo
{
    public static string Root { get; } = Find();

    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "LongLived.Orleans.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }
}
