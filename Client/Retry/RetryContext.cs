using Grpc.Core;

namespace LongLived.Client.Retry;

/// <summary>What a retry policy knows about the failure it is asked about.</summary>
/// <param name="ClientId">The subscription's client id; null for a publish.</param>
/// <param name="Attempt">Failures in a row, this one included (1 for the first failure after a success).</param>
/// <param name="Elapsed">Time since the first failure of this row.</param>
/// <param name="Status">The gRPC status of this failure.</param>
/// <param name="ReachedGateway">False when the call never reached a gateway (the connection to the picked address
/// could not be made, or no token could be had): another address may work at once.</param>
/// <param name="NotReachedInARow">How many of the latest failures never reached a gateway, since the last wait.</param>
/// <param name="AddressCount">How many gateway addresses the client balances over.</param>
/// <param name="Waits">How many times this row has already waited (a delay above zero): what a backoff grows with, so
/// that failures retried at once on another address do not lengthen the next wait.</param>
public sealed record RetryContext(string? ClientId, int Attempt, TimeSpan Elapsed, Status Status, bool ReachedGateway, int NotReachedInARow, int AddressCount, int Waits);
