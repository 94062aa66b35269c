namespace LongLived.Channelz;

/// <summary>Feature switches like GRPC_REFLECTION / GRPC_CHANNELZ: on unless set to 0, off or no (any case).</summary>
public static class EnvSwitch
{
    public static bool IsOn(string? value) => value?.Trim().ToLowerInvariant() is not ("0" or "off" or "no");
}
