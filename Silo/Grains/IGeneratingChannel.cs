using Orleans.Concurrency;

namespace LongLived.Silo.Grains;

/// <summary>An own channel whose demo generator runs: ticked by this silo's <see cref="GeneratorClock"/>.</summary>
[Alias("ll.IGeneratingChannel")]
public interface IGeneratingChannel : IGrainWithStringKey
{
    /// <summary>Its slot of the interval came: make the messages due.</summary>
    [OneWay, Alias("Generate")]
    Task Generate();
}
