using LongLived.Gateway.Delivery;

namespace LongLived.Gateway.Hosting;

public static class DeliveryHosting
{
    /// <summary>The channels with local subscribers, their joins and this gateway's delivery streams; the head check that renews joins and finds a lost last message.</summary>
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ChannelHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChannelHub>()); // subscribes to its delivery streams
        builder.Services.AddHostedService<HeadCheckService>();
        return builder;
    }
}
