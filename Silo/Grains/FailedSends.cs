namespace LongLived.Silo.Grains;

/// <summary>
/// The gateways one channel failed to send to, told once a second at most, a second after the first failure: the
/// gateway's check reads the head then, so it covers every send that failed before it. A queue that refuses everything
/// must not multiply into a notice per failed batch, and only the gateways that missed something are told (when one
/// dies, its channels fail their sends for seconds; telling every gateway made each of them rejoin its topics every
/// second). Made at a channel's first failure (memory per client); the notice runs off the grain's turn, hence the lock.
/// </summary>
internal sealed class FailedSends(string channel, GatewayNotices notices)
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(1);
    private readonly HashSet<string> _gateways = new(StringComparer.Ordinal);
    private bool _noticeDue;

    public void Failed(string gatewayId)
    {
        lock (_gateways)
        {
            _gateways.Add(gatewayId);
            if (_noticeDue) return;
            _noticeDue = true;
        }
        _ = TellAfterAsync();
    }

    private async Task TellAfterAsync()
    {
        await Task.Delay(After).ConfigureAwait(false);
        string[] missed;
        lock (_gateways)
        {
            missed = [.. _gateways];
            _gateways.Clear();
            _noticeDue = false;
        }
        await notices.TellSendFailedAsync(channel, missed);
    }
}
