using LongLived.Bench.BareRelay;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// The bare relay: what a gRPC server costs with no cluster behind it. Kestrel is set up exactly as the gateway's
// gRPC listener (h2c prior knowledge, 10,000 streams per connection, the same keep-alive pings).
var builder = WebApplication.CreateBuilder(args);
var port = builder.Configuration.GetValue("Port", 7170);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenLocalhost(port, listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Limits.Http2.MaxStreamsPerConnection = builder.Configuration.GetValue("MaxStreamsPerConnection", 10_000);
    kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
    kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
});
builder.Services.AddGrpc();
builder.Services.AddSingleton<MemoryTopics>();
builder.Services.AddHostedService<Generator>();
// Runtime:WorkerThreads as the product applies it, so the bench sizes every server's pool alike.
if (!LongLived.Hosting.WorkerThreads.TryApply(builder.Configuration, out _, out var error)) throw new InvalidOperationException(error);
var app = builder.Build();
app.MapGrpcService<BareLonglivedService>();
app.Run();
