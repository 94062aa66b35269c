namespace LongLived.Contracts.Grains;

/// <summary>
/// A channel's stored numbering is not the one its activation appends to (the stored head went back: a Redis node
/// restarted from an older state, a replica took over). Offsets past the stored head may already have been seen by
/// clients, so the channel starts a new epoch instead of handing them out again.
/// </summary>
[GenerateSerializer, Alias("ll.NumberingConflictException")]
public sealed class NumberingConflictException : Exception
{
    public NumberingConflictException(string message) : base(message) { }
}
