using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace LongLived.Hosting;

/// <summary>
/// <c>Runtime:WorkerThreads</c>: how many thread-pool workers run the process; 0 (the default) leaves .NET's pool as it
/// is (one per core, more when work waits). The silo's and the gateway's work comes in bursts of small pieces (a slot's
/// ticks, a delivery's writes): the pool wakes a second worker for each burst, which finds little and sleeps again.
/// Where the processes share a few cores, those wake-ups were a quarter of their CPU: with one worker each, silo and
/// gateway at 10,000 own channels spent 0.14 + 0.19 cores instead of 0.20 + 0.25 (docs/data-path.md, "One worker per
/// process"). Code that blocks a worker stalls a process that has one: ours does not, but OpenTelemetry's Prometheus
/// exporter spin-waits for an earlier scrape's response to be written (docs/data-path.md), hence not the default.
/// </summary>
public static class WorkerThreads
{
    public const string Key = "Runtime:WorkerThreads";

    /// <summary>
    /// Sizes the pool as configured (<paramref name="workers"/>: the size set, 0 when left alone); false, with
    /// <paramref name="error"/>, for a value that is not a thread count.
    /// </summary>
    public static bool TryApply(IConfiguration configuration, out int workers, out string? error)
    {
        (workers, error) = (0, null);
        var text = configuration[Key];
        if (string.IsNullOrWhiteSpace(text)) return true;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out workers) || workers is < 0 or > short.MaxValue)
        {
            workers = 0;
            error = $"{Key} must be 0 (.NET's default) or a number of threads from 1 to {short.MaxValue}, not '{text}'";
            return false;
        }
        if (workers == 0) return true;
        ThreadPool.GetMinThreads(out var min, out var io);
        ThreadPool.GetMaxThreads(out _, out var maxIo);
        // The minimum first when lowering, the maximum first when raising: the pool refuses a maximum below its minimum.
        var set = workers <= min
            ? ThreadPool.SetMinThreads(workers, io) && ThreadPool.SetMaxThreads(workers, maxIo)
            : ThreadPool.SetMaxThreads(workers, maxIo) && ThreadPool.SetMinThreads(workers, io);
        if (!set)
        {
            error = $"{Key}={workers}: the runtime refused that thread-pool size";
            return false;
        }
        return true;
    }
}
