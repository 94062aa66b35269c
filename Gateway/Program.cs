using LongLived;
using LongLived.Gateway;

if (HealthProbe.Requested(args) is { } url) return await HealthProbe.RunAsync(url);
await GatewaySetup.Build(args).RunAsync();
return 0;
