namespace LongLived.Bench;

/// <summary>CPU seconds and resident memory of a process, read from /proc (Linux).</summary>
public static class ProcessStats
{
    private const double ClockTicks = 100; // USER_HZ on Linux

    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / ClockTicks; // utime, stime
        }
        catch (IOException) { return 0; }
    }

    public static long RssBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { return 0; }
    }
}
