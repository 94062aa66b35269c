using System.Runtime.InteropServices;

namespace LongLived.Emulator;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM end a run the same way: the clients stop, then the summary and the report are written.
/// Handled here rather than by System.CommandLine (whose default gives the action 2 s, then exits without a report)
/// or by the control API's host (whose console lifetime would take the signal for itself). A second signal is not
/// handled: the runtime ends the process at once.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public StopSignals()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    public bool Received => _stop.IsCancellationRequested;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) > 1) return;
        context.Cancel = true;
        Console.Error.WriteLine($"{context.Signal}: stopping the clients, then the report (again to quit at once)");
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stop.Dispose();
    }
}
