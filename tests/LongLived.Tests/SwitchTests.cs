using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace LongLived.Tests;

/// <summary>GRPC_REFLECTION and GRPC_CHANNELZ switch their services off (0, off or no).</summary>
[Collection(ClusterCollection.Name)]
public sealed class SwitchTests(ClusterFixture cluster)
{
    [Theory]
    [InlineData("0")]
    [InlineData("OFF")]
    [InlineData("no")]
    public async Task Reflection_and_channelz_can_be_switched_off(string value)
    {
        var port = ClusterFixture.FreePort();
        await using var gateway = LongLived.Gateway.Program.Build([$"--Gateway:Port={port}", $"--Gateway:AdminPort={ClusterFixture.FreePort()}",
            $"--Orleans:ClusterId={cluster.ClusterId}", $"--Orleans:GatewayPorts:0={cluster.SiloGatewayPort}",
            $"--GRPC_REFLECTION={value}", $"--GRPC_CHANNELZ={value}", "--Logging:LogLevel:Default=Warning"]);
        await gateway.StartAsync();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");

        var channelz = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Grpc.Channelz.V1.Channelz.ChannelzClient(channel).GetServersAsync(new Grpc.Channelz.V1.GetServersRequest()));
        Assert.Equal(StatusCode.Unimplemented, channelz.StatusCode);

        using var reflection = new Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        // The server answers an unknown service at once; writing first would race with that answer.
        var error = await Assert.ThrowsAsync<RpcException>(() => reflection.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);

        // The service itself still works.
        var reply = await new LongLived.Contracts.Longlived.LonglivedClient(channel).NotifyReceivedAsync(new Request { Id = "switch" });
        Assert.Equal("NotifyReceived: switch", reply.Data);
        await gateway.StopAsync();
    }
}
