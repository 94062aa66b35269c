namespace LongLived.Channelz;

/// <summary>calls_started / succeeded / failed and the last start time, shared by servers, channels and subchannels.</summary>
public sealed class CallCounters
{
    public long Started;
    public long Succeeded;
    public long Failed;
    /// <summary>UTC ticks; 0 until the first call.</summary>
    public long LastStartedTicks;

    public void CallStarted()
    {
        Interlocked.Increment(ref Started);
        Interlocked.Exchange(ref LastStartedTicks, DateTime.UtcNow.Ticks);
    }

    public void CallEnded(bool ok) => Interlocked.Increment(ref ok ? ref Succeeded : ref Failed);
}
