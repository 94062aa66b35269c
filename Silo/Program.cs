using LongLived.Silo;

// Content root = the binary's folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddLongLivedSilo();
await builder.Build().MapSiloEndpoints().RunAsync();
