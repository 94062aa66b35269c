using LongLived.Client;

namespace LongLived.Emulator;

/// <summary>Publishes to each topic at a steady rate; the library retries with the same idempotency key, so nothing is appended twice.</summary>
public sealed class TopicPublisher(LongLivedClient client, EmulatorSettings settings, RunMetrics metrics, ILogger logger)
{
    /// <summary>A publish still failing after this long is counted as failed and the next one goes ahead.</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(10);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (settings.PublishRate <= 0 || settings.Topics.Count == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / settings.PublishRate));
        long sequence = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                sequence++;
                foreach (var topic in settings.Topics) await PublishAsync(topic, sequence, cancellationToken);
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // The run ended with a publish in flight: grpc-dotnet reports the cancelled call as RpcException(Cancelled).
        }
    }

    private async Task PublishAsync(string topic, long sequence, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(GiveUpAfter);
        try
        {
            await client.PublishAsync(topic, $"{topic} #{sequence}", $"{settings.IdPrefix}{topic}-{sequence}", attempt.Token);
            Interlocked.Increment(ref metrics.Published);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is Grpc.Core.RpcException or OperationCanceledException)
        {
            logger.LogWarning("Publish to {Topic} failed: {Error}", topic, ex.Message);
            Interlocked.Increment(ref metrics.PublishFailures);
        }
    }
}
