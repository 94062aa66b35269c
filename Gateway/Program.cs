using LongLived.Gateway;

await GatewaySetup.Build(args).RunAsync();
