using System.Net;
using LongLived.Emulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace LongLived.Tests;

public sealed class AddressParserTests
{
    [Theory]
    [InlineData("static::7071,:7072,:7073", "localhost:7071,localhost:7072,localhost:7073")]
    [InlineData("static:///gw1:7071,gw2:7072", "gw1:7071,gw2:7072")]
    [InlineData("http://127.0.0.1:7070", "127.0.0.1:7070")]
    [InlineData("static:[::1]:7071", "::1:7071")]
    public void Parses_the_original_and_the_usual_forms(string address, string expected)
    {
        var parsed = AddressParser.Parse(address);
        Assert.Equal(expected, string.Join(',', parsed.Select(e => $"{e.Host}:{e.Port}")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("static:")]
    [InlineData("static::notaport")]
    [InlineData("static::99999")]
    [InlineData("https://x:1")]
    public void Rejects_what_it_cannot_use(string address) => Assert.Throws<FormatException>(() => AddressParser.Parse(address));
}

[Collection(ClusterCollection.Name)]
public sealed class EmulatorRunTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Emulated_clients_across_two_gateways_see_no_gap_and_no_duplicate()
    {
        var settings = new EmulatorSettings
        {
            Address = $"static::{cluster.Port1},:{cluster.Port2}",
            Clients = 6,
            Duration = TimeSpan.FromSeconds(4),
            Topics = [TestStreams.NewId("emu")],
            PublishRate = 10,
            LogMessages = false,
        };

        var report = await new EmulatorRun(settings, NullLoggerFactory.Instance).RunAsync(CancellationToken.None);

        Assert.Equal(6, report.Clients);
        Assert.Equal(0, report.Gaps);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.Unrecoverable);
        Assert.Equal(0, report.PublishFailures);
        Assert.True(report.Published > 0);
        // Every client got its own generated data and the topic (200 ms generator, 10/s topic, 4 s).
        Assert.All(report.PerClient, c => Assert.True(c.Received >= 10, $"{c.Id} received {c.Received}"));
        Assert.True(report.LatencyMs.Count > 0);
    }
}
