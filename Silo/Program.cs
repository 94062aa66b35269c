using LongLived;
using LongLived.Silo;

if (HealthProbe.Requested(args) is { } url) return await HealthProbe.RunAsync(url);
// Content root = the binary's folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddLongLivedSilo();
await builder.Build().MapSiloEndpoints().RunAsync();
return 0;
