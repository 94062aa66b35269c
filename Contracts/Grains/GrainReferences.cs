namespace LongLived.Contracts.Grains;

/// <summary>
/// String-keyed grain references without Orleans resolving the grain interface on every call: <c>GetGrain&lt;T&gt;(key)</c>
/// formats the interface's type name each time, which was 8 % of a gateway's CPU while 10,000 streams opened. The grain
/// type and interface are taken once from a reference made the usual way; they do not depend on the key.
/// </summary>
public static class GrainReferences
{
    public static T Grain<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        var (type, face) = Resolved<T>.Value ??= Resolve<T>(grains);
        return (T)grains.GetGrain(GrainId.Create(type, key), face);
    }

    private static (GrainType, GrainInterfaceType) Resolve<T>(IGrainFactory grains) where T : IGrainWithStringKey
    {
        var reference = (GrainReference)(object)grains.GetGrain<T>("resolve"); // any key: neither depends on it
        return (reference.GrainId.Type, reference.InterfaceType);
    }

    private static class Resolved<T>
    {
        public static (GrainType, GrainInterfaceType)? Value;
    }
}
