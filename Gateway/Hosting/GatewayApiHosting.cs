using LongLived.Channelz;
using LongLived.Gateway.Options;
using LongLived.Gateway.Services;
using LongLived.Hosting;

namespace LongLived.Gateway.Hosting;

public static class GatewayApiHosting
{
    /// <summary>gRPC with its interceptors, grpc.health.v1 and, unless switched off, reflection (GRPC_REFLECTION) and channelz (GRPC_CHANNELZ).</summary>
    public static WebApplicationBuilder AddGatewayApi(this WebApplicationBuilder builder)
    {
        var gateway = builder.Configuration.Read<GatewayOptions>(GatewayOptions.Section);
        var channelzOn = EnvSwitch.IsOn(builder.Configuration["GRPC_CHANNELZ"]);
        builder.Services.AddSingleton<ErrorMappingInterceptor>();
        builder.Services.AddSingleton<ChannelzInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            // A Publish is its payload plus a channel name and an idempotency key; nothing needs gRPC's 4 MB default.
            o.MaxReceiveMessageSize = gateway.MaxPublishBytes + 16 * 1024;
            if (channelzOn) o.Interceptors.Add<ChannelzInterceptor>(); // outermost: counts what really goes over the wire
            o.Interceptors.Add<ErrorMappingInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(Contracts.Longlived.Descriptor.FullName, _ => true))
            .AddCheck<Operations.GatewayHealthCheck>("gateway");
        if (EnvSwitch.IsOn(builder.Configuration["GRPC_REFLECTION"])) builder.Services.AddGrpcReflection();
        return builder;
    }
}
