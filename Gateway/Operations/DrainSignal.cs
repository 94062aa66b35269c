namespace LongLived.Gateway.Operations;

/// <summary>
/// Whether this gateway serves. Draining (SIGTERM, or /server/stop) ends every live stream with UNAVAILABLE so its
/// client resumes on another gateway at once, and refuses new calls; /server/start serves again.
/// Kestrel itself waits for open streams at shutdown and never cancels them, hence this signal.
/// </summary>
public sealed class DrainSignal
{
    private readonly ILogger<DrainSignal> _logger;
    private CancellationTokenSource _draining = new();

    public DrainSignal(IHostApplicationLifetime lifetime, ILogger<DrainSignal> logger)
    {
        _logger = logger;
        lifetime.ApplicationStopping.Register(() => Drain("shutting down"));
    }

    /// <summary>Cancelled when draining starts; a stream takes it when it starts.</summary>
    public CancellationToken Token => Volatile.Read(ref _draining).Token;
    public bool IsDraining => Volatile.Read(ref _draining).IsCancellationRequested;

    /// <summary>Raised after every change, for health Watch callers.</summary>
    public event Action<bool>? Changed;

    public void Drain(string why)
    {
        var current = Volatile.Read(ref _draining);
        if (current.IsCancellationRequested) return;
        // Information: a drain is an operator's request (or a normal stop), not a fault.
        _logger.LogInformation("Draining ({Why}): health NOT_SERVING, live streams end with UNAVAILABLE, new calls refused", why);
        Changed?.Invoke(true);
        current.Cancel();
    }

    public void Serve()
    {
        var current = Volatile.Read(ref _draining);
        if (!current.IsCancellationRequested) return;
        if (Interlocked.CompareExchange(ref _draining, new CancellationTokenSource(), current) == current)
        {
            _logger.LogInformation("Serving again");
            Changed?.Invoke(false);
        }
    }
}
