using Grpc.Core;
using LongLived.Contracts;

namespace LongLived.Emulator;

/// <summary>Publishes to each topic at a steady rate, with an idempotency key so a retried publish cannot append twice.</summary>
public sealed class TopicPublisher(Longlived.LonglivedClient grpc, EmulatorSettings settings, Tokens tokens, RunMetrics metrics, ILogger logger)
{
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
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // The run ended with a publish in flight: grpc-dotnet reports the cancelled call as RpcException(Cancelled).
        }
    }

    private async Task PublishAsync(string topic, long sequence, CancellationToken cancellationToken)
    {
        var request = new PublishRequest { Channel = topic, Data = $"{topic} #{sequence}", IdempotencyKey = $"{settings.IdPrefix}{topic}-{sequence}" };
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try
            {
                await grpc.PublishAsync(request, new CallOptions(tokens.ForPublisher(), DateTime.UtcNow.AddSeconds(10), cancellationToken).WithWaitForReady());
                Interlocked.Increment(ref metrics.Published);
                return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unauthenticated && !cancellationToken.IsCancellationRequested)
            {
                if (ex.StatusCode == StatusCode.Unauthenticated) tokens.Forget(tokens.PublisherId);
                logger.LogWarning("Publish to {Topic} failed ({Status}), attempt {Attempt}", topic, ex.StatusCode, attempt);
            }
        }
        Interlocked.Increment(ref metrics.PublishFailures);
    }
}
