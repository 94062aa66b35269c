using LongLived.Silo;

// Content root = the binary's folder, so appsettings.json is found whatever the working directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddLongLivedSilo();
await builder.Build().RunAsync();
