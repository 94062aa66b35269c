using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LongLived.Client;

/// <summary>The <c>LongLived.Client</c> meter and activity source (listen with OpenTelemetry or dotnet-counters).</summary>
public static class ClientTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "LongLived.Client";

    internal static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    internal static readonly Counter<long> Messages = Meter.CreateCounter<long>("longlived.client.messages", description: "Messages handed to the application");
    internal static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("longlived.client.reconnects", description: "Subscribe calls that failed and were retried");
    internal static readonly Counter<long> Resets = Meter.CreateCounter<long>("longlived.client.resets", description: "Channels that continued after a loss");
    internal static readonly Counter<long> Acknowledgements = Meter.CreateCounter<long>("longlived.client.acknowledgements", description: "NotifyReceived calls, by outcome");
    internal static readonly Counter<long> Publishes = Meter.CreateCounter<long>("longlived.client.publishes", description: "Publish calls, by outcome");
    internal static readonly UpDownCounter<long> Subscriptions = Meter.CreateUpDownCounter<long>("longlived.client.subscriptions", description: "Subscriptions being enumerated");
}
