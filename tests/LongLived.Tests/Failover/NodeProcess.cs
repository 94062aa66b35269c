using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LongLived.Tests.Failover;

/// <summary>
/// A silo or gateway as a real OS process (the Release/Debug build next to the tests), so it can be killed with
/// SIGKILL or stopped with SIGTERM exactly as in production. Keeps the last lines of its output for diagnostics.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Queue<string> _tail = new();
    private readonly string _program;
    private readonly string[] _args;
    private readonly Dictionary<string, string> _environment = new() { ["DOTNET_gcServer"] = "0" }; // many processes on 2 cores
    private Process? _process;

    private NodeProcess(string name, string program, string[] args)
    {
        Name = name;
        _program = program;
        _args = args;
    }

    /// <summary>
    /// Runs the process with its wall clock shifted by <paramref name="offset"/> (libfaketime, e.g. "-1h"), the way a
    /// host whose clock drifted runs it; its monotonic clock (Stopwatch, timers) stays true.
    /// </summary>
    public NodeProcess WithClockOffset(string offset)
    {
        _environment["LD_PRELOAD"] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
        _environment["FAKETIME"] = offset;
        _environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
        return this;
    }

    public string Name { get; }
    public bool IsRunning => _process is { HasExited: false };
    /// <summary>The OS process id while it runs (`dotnet app.dll` hosts the app in this very process).</summary>
    public int? Pid => IsRunning ? _process!.Id : null;
    public string Tail { get { lock (_tail) return string.Join('\n', _tail); } }

    public static NodeProcess Silo(string name, params string[] args) => new(name, "dotnet", [BuiltDll("Silo", "LongLived.Silo.dll"), .. args]);
    public static NodeProcess Gateway(string name, params string[] args) => new(name, "dotnet", [BuiltDll("Gateway", "LongLived.Gateway.dll"), .. args]);

    /// <summary>A throw-away redis-server on loopback, no persistence to disk (./test.sh installs it when missing).</summary>
    public static NodeProcess Redis(int port) =>
        new("redis", "redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);

    /// <summary>A redis-server that keeps its data in <paramref name="dir"/> (append-only file), so it survives a stop and restart.</summary>
    public static NodeProcess DurableRedis(int port, string dir) =>
        new("redis", "redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir]);

    public void Start()
    {
        var info = new ProcessStartInfo(_program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in _args) info.ArgumentList.Add(arg);
        foreach (var (key, value) in _environment) info.Environment[key] = value;
        _process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {Name}");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!IsRunning) return;
        _process!.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process stops answering while its sockets stay open (a half-open gateway).</summary>
    public void Freeze() => _ = SysKill(Pid ?? throw new InvalidOperationException($"{Name} is not running"), 19);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => _ = SysKill(Pid ?? throw new InvalidOperationException($"{Name} is not running"), 18);

    /// <summary>SIGTERM, then wait for a graceful exit.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (!IsRunning) return;
        _ = SysKill(_process!.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public static async Task WaitForPortAsync(int port, TimeSpan timeout, NodeProcess? owner = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200);
            }
        }
        throw new TimeoutException($"port {port} not open after {timeout}; {owner?.Name} output:\n{owner?.Tail}");
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 200) _tail.Dequeue();
        }
    }

    /// <summary>The project's own build output: tests/LongLived.Tests/bin/&lt;Config&gt;/net10.0 → &lt;Project&gt;/bin/&lt;Config&gt;/net10.0.</summary>
    private static string BuiltDll(string project, string dll)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "LongLived.Orleans.sln"))) root = root.Parent;
        var path = Path.Combine(root?.FullName ?? throw new InvalidOperationException("repository root not found"), project, "bin", configuration, testBin.Name, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"build {project} first ({configuration})", path);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
