namespace LongLived.Silo.Options;

/// <summary>Section "Silo": the silo's own HTTP port for operators.</summary>
public sealed class SiloHttpOptions
{
    public const string Section = "Silo";

    /// <summary>/healthz (is this silo an active cluster member?), /metrics (Prometheus) and /dashboard; 0: off.</summary>
    public int HttpPort { get; set; } = 8090;

    /// <summary>Listen on all interfaces (containers) instead of localhost only.</summary>
    public bool ListenAnyIP { get; set; }

    /// <summary>Bearer token /metrics and /dashboard require from every caller once set; empty: loopback callers only.</summary>
    public string? AdminToken { get; set; }

    /// <summary>The Orleans dashboard at /dashboard.</summary>
    public bool Dashboard { get; set; } = true;
}
