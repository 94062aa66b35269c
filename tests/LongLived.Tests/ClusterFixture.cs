using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using LongLived.Contracts;
using LongLived.Contracts.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using LongLived.Gateway.Cluster;
using LongLived.Gateway.Delivery;

namespace LongLived.Tests;

/// <summary>
/// A real cluster for the whole test collection: one silo (the production LongLived.Silo.Program.Build, localhost
/// clustering, in-memory storage and streams, its HTTP port) and two gateways (LongLived.Gateway.Program.Build, real
/// Kestrel on loopback ports).
/// Faster generator and head checks than the defaults, and a short history so trimming can be tested.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int HistoryMaxCount = 100;
    private readonly List<GrpcChannel> _channels = [];

    public WebApplication Silo { get; private set; } = null!;
    public WebApplication Gateway1 { get; private set; } = null!;
    public WebApplication Gateway2 { get; private set; } = null!;
    public int Port1 { get; } = FreePort();
    public int Port2 { get; } = FreePort();
    public int AdminPort1 { get; } = FreePort();
    public int AdminPort2 { get; } = FreePort();
    public int SiloHttpPort { get; } = FreePort();

    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";
    public int SiloGatewayPort { get; } = FreePort();

    public IGrainFactory Grains => Silo.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        var gatewayPort = SiloGatewayPort;
        // Orleans at Critical: at the end, grains deactivating after the storage grains are gone log thousands of errors
        // that would bury a real failure (appsettings' "Orleans": "Warning" outranks Default, hence the explicit key).
        string[] common = [$"--Orleans:ClusterId={ClusterId}", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Orleans=Critical",
            "--Logging:LogLevel:LongLived=Information"];

        Silo = LongLived.Silo.Program.Build([.. common,
            $"--Orleans:SiloPort={FreePort()}", $"--Orleans:GatewayPort={gatewayPort}", $"--Silo:HttpPort={SiloHttpPort}",
            "--Generator:Interval=00:00:00.2", $"--History:MaxCount={HistoryMaxCount}"]);
        await Silo.StartAsync();

        Gateway1 = await StartGatewayAsync(Port1, AdminPort1, gatewayPort, common);
        Gateway2 = await StartGatewayAsync(Port2, AdminPort2, gatewayPort, common);
    }

    private static async Task<WebApplication> StartGatewayAsync(int port, int adminPort, int siloGatewayPort, string[] common, params string[] extra)
    {
        var app = LongLived.Gateway.Program.Build([.. common, $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPort}",
            $"--Orleans:GatewayPorts:0={siloGatewayPort}", "--Gateway:HeadCheckInterval=00:00:01", .. extra]);
        await app.StartAsync();
        return app;
    }

    /// <summary>One more gateway of this cluster, for a test that may drain or break it; dispose it at the end.</summary>
    public async Task<ExtraGateway> StartExtraGatewayAsync(params string[] extra)
    {
        var port = FreePort();
        var adminPort = FreePort();
        var app = await StartGatewayAsync(port, adminPort, SiloGatewayPort,
            [$"--Orleans:ClusterId={ClusterId}", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:LongLived=Information"], extra);
        return new ExtraGateway(app, port, adminPort);
    }

    /// <summary>
    /// The silo's grain storage <paramref name="storage"/> and, read from it, what <paramref name="grain"/> has stored under
    /// <paramref name="stateName"/>: for tests that check what is durable, or replace it as a lost silo would.
    /// </summary>
    public async Task<(Orleans.Storage.IGrainStorage Storage, GrainState<T> State)> StoredAsync<T>(string storage, string stateName, IAddressable grain) where T : new()
    {
        var grainStorage = Silo.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(storage);
        var state = new GrainState<T>(new T());
        await grainStorage.ReadStateAsync(stateName, grain.GetGrainId(), state);
        return (grainStorage, state);
    }

    /// <summary>
    /// A Subscribe at <paramref name="client"/>'s grain as gateway 1 makes it (joining that gateway to the own channel),
    /// for tests of the grain's fencing and acknowledgement rules; the session id comes back with the grant.
    /// </summary>
    public async Task<(SubscribeGrant Grant, Guid Session)> SubscribeAtGrainAsync(IClientGrain client)
    {
        var observer = Gateway1.Services.GetRequiredService<GatewayObserver>();
        var hub = Gateway1.Services.GetRequiredService<ChannelHub>();
        var session = Guid.NewGuid();
        var grant = await client.Subscribe(new SessionInfo(session, observer.GatewayId, observer.Reference, [], TimeSpan.Zero),
            hub.Route, TimeSpan.FromMinutes(1), join: 1, position: null, pageSize: 10);
        return (grant, session);
    }

    /// <summary>A client of one gateway (disposed with the fixture).</summary>
    public Longlived.LonglivedClient Client(int port) => new(Channel(port));

    public GrpcChannel Channel(int port)
    {
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        foreach (var app in new[] { Gateway1, Gateway2 })
        {
            if (app is null) continue;
            await app.StopAsync();
            await app.DisposeAsync();
        }
        if (Silo is not null)
        {
            await Silo.StopAsync();
            await Silo.DisposeAsync();
        }
    }

    /// <summary>
    /// A loopback port nothing listens on (IPv4 or IPv6), not handed out before in this process, between 20000 and 29999:
    /// below the kernel's ephemeral range (where outgoing connections take theirs) and clear of the fixed ports of
    /// run.sh, the shell tests and the bench (11xxx, 30xxx). The kernel's own pick (bind to port 0) handed one port out
    /// twice in a run, and a silo then did not start (its HTTP and Orleans gateway ports were one).
    /// </summary>
    public static int FreePort()
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(PortsFrom, PortsTo);
                // A port in use by another process stays in HandedOut, so it is not tried again.
                if (HandedOut.Add(port) && Free(IPAddress.Loopback, port) && (!Socket.OSSupportsIPv6 || Free(IPAddress.IPv6Loopback, port))) return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port in {PortsFrom}..{PortsTo - 1} after 1000 attempts");
    }

    private static bool Free(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            return true;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.AddressNotAvailable; // no such loopback here: nothing can listen on it either
        }
    }

    private static readonly HashSet<int> HandedOut = [];
    private const int PortsFrom = 20_000;
    private static readonly int PortsTo = Math.Min(30_000, EphemeralFrom());

    /// <summary>Where the kernel's ephemeral ports start (net.ipv4.ip_local_port_range), or 30000 when unknown or lower.</summary>
    private static int EphemeralFrom()
    {
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], out var low) && low > PortsFrom + 1000 ? low : 30_000;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 30_000;
        }
    }
}

public sealed record ExtraGateway(WebApplication App, int Port, int AdminPort) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
