using System.CommandLine;
using System.CommandLine.Parsing;
using LongLived.Emulator;

var addr = new Option<string>("--addr", "-a")
{
    Description = "Gateways: static::7071,:7072,:7073 (bare :port = 127.0.0.1), static:///host:port,host:port, or http://host:port",
    DefaultValueFactory = _ => "static::7071,:7072,:7073",
};
var clients = new Option<int>("--clients", "-n") { Description = "Number of clients", DefaultValueFactory = _ => 10 };
var duration = new Option<TimeSpan?>("--duration", "-d")
{
    Description = "Run this long, then report and exit (30, 30s, 2m, 00:00:30); default: until Ctrl+C",
    CustomParser = result => Durations.Parse(result),
};
var topics = new Option<string[]>("--topics", "-t")
{
    Description = "Topics every client joins besides its own channel (comma-separated or repeated)",
    AllowMultipleArgumentsPerToken = true,
};
var publishRate = new Option<double>("--publish-rate") { Description = "Messages per second the emulator publishes to each topic", DefaultValueFactory = _ => 1 };
var notify = new Option<bool>("--notify") { Description = "Call NotifyReceived for every message, as the original client did", DefaultValueFactory = _ => true };
var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not log every received message" };
var report = new Option<FileInfo?>("--report") { Description = "Write the JSON report to this file at the end" };
var failOnLoss = new Option<bool>("--fail-on-loss") { Description = "Exit with 1 if any client saw a gap or a duplicate" };
var rampUp = new Option<TimeSpan?>("--ramp-up")
{
    Description = "Start the clients spread over this time (default 1s)",
    CustomParser = result => Durations.Parse(result),
};
var controlPort = new Option<int>("--control-port") { Description = "REST control API port (/client/start, /client/stop, /client/list, /client/notify); 0: off", DefaultValueFactory = _ => 7080 };
var idPrefix = new Option<string?>("--id-prefix") { Description = "Client ids are <prefix><n>; default: a random prefix per run" };
var token = new Option<string?>("--token") { Description = "Bearer token every call carries (gateways with Gateway:Auth)" };
var tokenKey = new Option<string?>("--token-key")
{
    Description = "The gateways' Gateway:Auth:SigningKey: mint a token per client (sub = id, channels = topics) and for the publisher; default: $LONGLIVED_TOKEN_KEY (better than the command line, which ps shows)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LONGLIVED_TOKEN_KEY") is { Length: > 0 } key ? key : null,
};
var tokenLifetime = new Option<TimeSpan?>("--token-lifetime")
{
    Description = "Lifetime of minted tokens (default 10m); streams end UNAUTHENTICATED when theirs expires and resume with a new one",
    CustomParser = result => Durations.Parse(result),
};
var tls = new Option<bool>("--tls") { Description = "TLS to the gateways (implied by https://)" };
var caFile = new Option<FileInfo?>("--ca-file") { Description = "Trust only this CA (PEM or DER) for the gateways' certificates" };

clients.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--clients cannot be negative"); });
publishRate.Validators.Add(r => { if (r.GetValueOrDefault<double>() < 0) r.AddError("--publish-rate cannot be negative"); });
tokenLifetime.Validators.Add(r => { if (r.GetValueOrDefault<TimeSpan?>() is { } t && t <= TimeSpan.Zero) r.AddError("--token-lifetime must be positive"); });

var root = new RootCommand("LongLived emulator: drives many long-lived clients through the gateways and reports gaps, duplicates, reconnects and latency")
{
    addr, clients, duration, topics, publishRate, notify, quiet, report, failOnLoss, rampUp, controlPort, idPrefix,
    token, tokenKey, tokenLifetime, tls, caFile,
};
using var signals = new StopSignals();
root.SetAction(async (parsed, _) =>
{
    var settings = new EmulatorSettings
    {
        Address = parsed.GetValue(addr)!,
        Clients = parsed.GetValue(clients),
        Duration = parsed.GetValue(duration),
        Topics = [.. (parsed.GetValue(topics) ?? []).SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct()],
        PublishRate = parsed.GetValue(publishRate),
        Notify = parsed.GetValue(notify),
        LogMessages = !parsed.GetValue(quiet),
        Token = parsed.GetValue(token),
        TokenKey = parsed.GetValue(tokenKey),
        Tls = parsed.GetValue(tls),
        CaFile = parsed.GetValue(caFile)?.FullName,
    };
    if (parsed.GetValue(tokenLifetime) is { } lifetime) settings = settings with { TokenLifetime = lifetime };
    if (parsed.GetValue(rampUp) is { } ramp) settings = settings with { RampUp = ramp };
    if (parsed.GetValue(idPrefix) is { Length: > 0 } prefix) settings = settings with { IdPrefix = prefix };

    using var loggerFactory = LoggerFactory.Create(logging => logging
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
        .AddFilter("Grpc", LogLevel.Warning)
        .SetMinimumLevel(LogLevel.Information));

    try
    {
        LongLived.Client.GatewayAddresses.Parse(settings.Address);
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"--addr: {ex.Message}");
        return 2;
    }
    var run = new EmulatorRun(settings, loggerFactory);
    var running = run.RunAsync(signals.Token);
    await using var control = parsed.GetValue(controlPort) is > 0 and var port ? await ControlApi.StartAsync(run, port) : null;
    var result = await running;
    Summary.WriteTable(result);
    if (parsed.GetValue(report) is { } file)
    {
        await File.WriteAllTextAsync(file.FullName, result.ToJson(), CancellationToken.None);
        Console.WriteLine($"report written to {file.FullName}");
    }
    if (parsed.GetValue(failOnLoss) && (result.Gaps > 0 || result.Duplicates > 0)) return 1;
    return signals.Received ? 130 : 0; // stopped by Ctrl+C or SIGTERM before its duration: reported, but interrupted
});
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
