using LongLived.Client;
using LongLived.Client.Positions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LongLived.Tests.ClientLibrary;

/// <summary>Positions kept in a file across a restart, and the client from dependency injection.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientPositionStoreTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_file_position_store_resumes_a_restarted_client_where_it_stopped()
    {
        var path = Path.Combine(Path.GetTempPath(), $"{TestStreams.NewId("positions")}.json");
        var topic = TestStreams.NewId("lib-file");
        var id = TestStreams.NewId("lib");
        try
        {
            await using (var before = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o => o.PositionStore = new JsonFilePositionStore(path)))
            {
                for (var i = 1; i <= 20; i++) await before.PublishAsync(topic, $"m{i}");
                await new JsonFilePositionStore(path).SaveAsync(id, new Dictionary<string, ChannelPosition> { [topic] = new(0, "") }, default);
                await ClientKit.ReadUntilAsync(before.SubscribeAsync(id, [topic]), got => got.Count(m => m.Channel == topic) == 8);
            }

            // As a new process would: a new store on the same file, a new client.
            await using var after = ClientKit.Client(ClientKit.Gateways(cluster.Port2), o => o.PositionStore = new JsonFilePositionStore(path));
            var rest = await ClientKit.ReadUntilAsync(after.SubscribeAsync(id, [topic]), got => got.Any(m => m.Channel == topic && m.Offset == 20));

            Assert.Equal(Enumerable.Range(9, 12).Select(i => (ulong)i), rest.Where(m => m.Channel == topic).Select(m => m.Offset));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, $"{Path.GetFileName(path)}.*.tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_position_file_that_is_not_one_is_a_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"{TestStreams.NewId("positions")}.json");
        await File.WriteAllTextAsync(path, "{ this is not json");
        try
        {
            await using var client = ClientKit.Client(ClientKit.Gateways(cluster.Port1), o => o.PositionStore = new JsonFilePositionStore(path));

            var error = await Assert.ThrowsAsync<InvalidDataException>(() => ClientKit.ReadUntilAsync(client.SubscribeAsync(TestStreams.NewId("lib")), _ => false));

            Assert.Contains(path, error.Message);
            Assert.Equal("{ this is not json", await File.ReadAllTextAsync(path)); // left as it was
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task AddLongLivedClient_gives_one_client_from_code_or_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LongLived:Client:Address"] = $"static::{cluster.Port1},:{cluster.Port2}",
            ["LongLived:Client:MaxSilence"] = "00:00:30",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.Configure<LongLivedClientOptions>(configuration.GetSection("LongLived:Client"));
        services.AddLongLivedClient(o => o.AcknowledgeInterval = TimeSpan.FromMilliseconds(500));
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<LongLivedClient>();
        var options = provider.GetRequiredService<IOptions<LongLivedClientOptions>>().Value;

        Assert.Same(client, provider.GetRequiredService<LongLivedClient>());
        Assert.Equal([cluster.Port1, cluster.Port2], client.Addresses.Endpoints.Select(e => e.Port));
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxSilence);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.AcknowledgeInterval);
        var read = await ClientKit.ReadUntilAsync(client.SubscribeAsync(TestStreams.NewId("lib")), got => got.Count >= 2);
        Assert.Equal(2, read.Count);
    }
}
