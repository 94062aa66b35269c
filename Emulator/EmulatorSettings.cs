namespace LongLived.Emulator;

/// <summary>What one emulator run does (from the command line).</summary>
public sealed record EmulatorSettings
{
    public required string Address { get; init; }
    public int Clients { get; init; } = 10;
    /// <summary>Null: until Ctrl+C.</summary>
    public TimeSpan? Duration { get; init; }
    public IReadOnlyList<string> Topics { get; init; } = [];
    /// <summary>Messages per second published to each topic by the emulator (0: none).</summary>
    public double PublishRate { get; init; }
    /// <summary>Call NotifyReceived for every message, as the original client did.</summary>
    public bool Notify { get; init; } = true;
    /// <summary>Log every received message ("Client ID … got response: …").</summary>
    public bool LogMessages { get; init; } = true;
    public string IdPrefix { get; init; } = $"emu-{Guid.NewGuid().ToString("N")[..6]}-";
    /// <summary>Clients start spread over this time: no thundering herd, and round-robin sees every gateway ready.</summary>
    public TimeSpan RampUp { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Report the gateway channel in channelz (served on the control port): GRPC_CHANNELZ unless 0, off or no.</summary>
    public bool Channelz { get; init; } = LongLived.Channelz.EnvSwitch.IsOn(Environment.GetEnvironmentVariable("GRPC_CHANNELZ"));
    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Reconnect backoff after the first (immediate) retry: doubles from the base up to the cap, with jitter.</summary>
    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A bearer token every call carries (the gateways' Gateway:Auth).</summary>
    public string? Token { get; init; }
    /// <summary>The gateways' HS256 key (Gateway:Auth:SigningKey): tokens are minted per client instead.</summary>
    public string? TokenKey { get; init; }
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>TLS to the gateways (also implied by an https:// address).</summary>
    public bool Tls { get; init; }
    /// <summary>PEM or DER certificate of the CA that signed the gateways' certificates (default: the system's roots).</summary>
    public string? CaFile { get; init; }
}
