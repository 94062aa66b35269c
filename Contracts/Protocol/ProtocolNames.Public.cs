namespace LongLived.Contracts;

// Public here; LongLived.Client compiles ProtocolNames.cs alone, where it stays internal.
public static partial class ProtocolNames
{
}
