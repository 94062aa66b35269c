namespace LongLived.Silo.Grains;

/// <summary>An own channel whose demo generator runs: ticked by this silo's <see cref="GeneratorClock"/>.</summary>
public interface IGeneratingChannel
{
    /// <summary>Its slot of the interval came: queue making the messages due. Called in the clock's timer callback: must not block.</summary>
    void Tick();
}
