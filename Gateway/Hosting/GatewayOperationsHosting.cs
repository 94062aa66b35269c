using LongLived.Gateway.Operations;
using LongLived.Hosting;
using LongLived.Streams;

namespace LongLived.Gateway.Hosting;

public static class GatewayOperationsHosting
{
    /// <summary>Drain, the gateway's metrics (with Kestrel's, the streams' and Orleans'), and the log of refused authorities.</summary>
    public static WebApplicationBuilder AddGatewayOperations(this WebApplicationBuilder builder)
    {
        builder.Logging.AddInvalidAuthorityLog();
        builder.Services.AddSingleton<DrainSignal>();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddLongLivedMetrics(GatewayMetrics.MeterName, StreamMetrics.MeterName, "Microsoft.AspNetCore.Server.Kestrel");
        return builder;
    }
}
