namespace LongLived.Gateway.Services;

/// <summary>
/// Set when the gateway stops serving (host shutdown). Kestrel waits for open streams at shutdown and never cancels
/// them itself, so every stream watches this and ends with UNAVAILABLE: its client resumes on another gateway at once.
/// </summary>
public sealed class DrainSignal
{
    private readonly CancellationTokenSource _draining = new();

    public DrainSignal(IHostApplicationLifetime lifetime) => lifetime.ApplicationStopping.Register(Drain);

    public CancellationToken Token => _draining.Token;
    public bool IsDraining => _draining.IsCancellationRequested;

    public void Drain() => _draining.Cancel();
}
