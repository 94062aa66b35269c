using LongLived.Silo;

var builder = Host.CreateApplicationBuilder(args);
builder.AddLongLivedSilo();
await builder.Build().RunAsync();
