using System.Diagnostics;
using k8s;
using k8s.Models;
using LongLived.Gateway.Options;
using LongLived.Hosting;
using LongLived.Silo.Options;
using Microsoft.Extensions.Configuration;

namespace LongLived.Tests;

/// <summary>
/// deploy/k8s without a cluster: each overlay rendered by kustomize (kubectl kustomize), loaded strictly into the
/// Kubernetes object model (KubernetesClient: an unknown field or a duplicate key fails), and checked for what matters
/// when it runs: probes and ports agree with the programs' own configuration, the drain fits the grace period, the
/// silos may do what Orleans' Kubernetes hosting does, images are the Dockerfile's, no secret on a command line,
/// selectors select.
/// </summary>
public sealed class KubernetesManifestTests
{
    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void The_overlay_renders_strictly_and_keeps_its_invariants(string overlay)
    {
        var objects = KubernetesYaml.LoadAllFromString(Render(overlay), strict: true);
        var deployments = objects.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name);
        var gateway = deployments["gateway"];
        var silo = deployments["silo"];

        // The gateway: ports and probes from its own options, bound from the manifest's environment as the program binds them.
        var gw = gateway.Spec.Template.Spec.Containers.Single();
        var gatewayOptions = Bind<GatewayOptions>(gw, GatewayOptions.Section);
        Assert.Equal(gatewayOptions.Port, Port(gw, "grpc"));
        Assert.Equal(gatewayOptions.EffectiveAdminPort, Port(gw, "admin"));
        Assert.Equal("/healthz", gw.ReadinessProbe.HttpGet.Path);
        Assert.Equal(gatewayOptions.EffectiveAdminPort, Port(gw, gw.ReadinessProbe.HttpGet.Port));
        Assert.Null(gw.LivenessProbe.HttpGet); // not /healthz: it goes unhealthy while the silos are away
        Assert.Equal(gatewayOptions.Port, Port(gw, gw.LivenessProbe.TcpSocket.Port));
        Assert.Contains(gw.Lifecycle.PreStop.Exec.Command, c => c.EndsWith($"127.0.0.1:{gatewayOptions.EffectiveAdminPort}/server/stop", StringComparison.Ordinal));
        Assert.True(gateway.Spec.Template.Spec.TerminationGracePeriodSeconds >= (long)gatewayOptions.DrainTimeout.TotalSeconds + 5,
            $"grace {gateway.Spec.Template.Spec.TerminationGracePeriodSeconds} s < drain {gatewayOptions.DrainTimeout} + 5 s");
        Assert.True(gatewayOptions.MaxStreamAge > TimeSpan.Zero, "Gateway:MaxStreamAge off: a scale-out would not rebalance");

        // The gateway Services reach the gRPC port; the headless one lists every gateway for dns:/// clients.
        var services = objects.OfType<V1Service>().ToDictionary(s => s.Metadata.Name);
        foreach (var name in new[] { "gateway", "gateway-headless" })
        {
            var port = services[name].Spec.Ports.Single();
            Assert.Equal(gatewayOptions.Port, Port(gw, port.TargetPort));
            Assert.True(Selects(services[name].Spec.Selector, gateway.Spec.Template.Metadata.Labels), $"service {name} selects no gateway");
        }
        Assert.Equal("None", services["gateway-headless"].Spec.ClusterIP);

        // The silo: its HTTP port and probes, Kubernetes hosting on, the pod IP advertised.
        var s = silo.Spec.Template.Spec.Containers.Single();
        var http = Bind<SiloHttpOptions>(s, SiloHttpOptions.Section);
        var cluster = Bind<OrleansClusterOptions>(s, OrleansClusterOptions.Section);
        Assert.Equal(http.HttpPort, Port(s, "http"));
        foreach (var probe in new[] { s.StartupProbe, s.ReadinessProbe })
        {
            Assert.Equal("/healthz", probe.HttpGet.Path);
            Assert.Equal(http.HttpPort, Port(s, probe.HttpGet.Port));
        }
        Assert.True(cluster.KubernetesHosting, "Orleans:KubernetesHosting is off");
        Assert.False(string.IsNullOrEmpty(cluster.Redis), "the silos have no Redis");
        Assert.Equal("$(POD_IP)", s.Env.Single(e => e.Name == "Orleans__AdvertisedIP").Value);
        Assert.Equal("status.podIP", s.Env.Single(e => e.Name == "POD_IP").ValueFrom.FieldRef.FieldPath);

        // What Microsoft.Orleans.Hosting.Kubernetes needs: pods get, list, watch, patch (+ delete for defunct pods).
        var account = silo.Spec.Template.Spec.ServiceAccountName;
        var binding = objects.OfType<V1RoleBinding>().Single(b => b.Subjects.Any(x => x.Kind == "ServiceAccount" && x.Name == account));
        var role = objects.OfType<V1Role>().Single(r => r.Metadata.Name == binding.RoleRef.Name);
        var podVerbs = role.Rules.Where(r => r.Resources.Contains("pods")).SelectMany(r => r.Verbs).ToHashSet();
        Assert.Superset(new HashSet<string> { "get", "list", "watch", "patch", "delete" }, podVerbs);

        // Images: the Dockerfile's targets, each in its own workload.
        var targets = File.ReadLines(Repository.Path("Dockerfile")).Where(l => l.StartsWith("FROM ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length == 4).Select(w => w[3]).ToHashSet();
        foreach (var (name, deployment) in deployments)
        {
            var image = deployment.Spec.Template.Spec.Containers.Single().Image;
            var repository = image.Split(':')[0];
            Assert.True(targets.Contains(name) && repository.EndsWith("/" + name, StringComparison.Ordinal), $"{name} runs {image}; Dockerfile targets: {string.Join(", ", targets)}");
        }

        // Secrets: in the environment from a Secret, never a literal value, never on a command line.
        var secretValues = objects.OfType<V1Secret>().SelectMany(x => (x.StringData?.Values ?? []).Concat((x.Data?.Values ?? []).Select(System.Text.Encoding.UTF8.GetString))).ToList();
        foreach (var container in deployments.Values.Concat<object>(objects.OfType<V1StatefulSet>()).SelectMany(Containers))
        {
            foreach (var env in container.Env ?? [])
            {
                if (System.Text.RegularExpressions.Regex.IsMatch(env.Name, "(Key|Token|Password|Secret)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
                {
                    Assert.True(env.ValueFrom?.SecretKeyRef is not null, $"{container.Name}: {env.Name} is not taken from a Secret");
                }
            }
            var commandLine = string.Join(' ', (container.Command ?? []).Concat(container.Args ?? []).Concat(container.Lifecycle?.PreStop?.Exec?.Command ?? []));
            Assert.DoesNotContain(secretValues, v => v.Length > 0 && commandLine.Contains(v, StringComparison.Ordinal));
        }

        // Selectors select: workloads their own pods, budgets and the autoscaler an existing workload.
        foreach (var deployment in deployments.Values) Assert.True(Selects(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels), deployment.Metadata.Name);
        foreach (var budget in objects.OfType<V1PodDisruptionBudget>())
        {
            Assert.True(deployments.Values.Any(d => Selects(budget.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)), $"budget {budget.Metadata.Name} selects nothing");
        }
        foreach (var autoscaler in objects.OfType<V2HorizontalPodAutoscaler>()) Assert.Contains(autoscaler.Spec.ScaleTargetRef.Name, deployments.Keys);

        // Redis keeps every acknowledged append on disk before anyone sees it.
        var redis = objects.OfType<V1StatefulSet>().Single(x => x.Metadata.Name == "redis").Spec.Template.Spec.Containers.Single();
        Assert.Equal("always", redis.Args[redis.Args.IndexOf("--appendfsync") + 1]);

        if (overlay == "prod")
        {
            Assert.Equal("token-key", gw.Env.Single(e => e.Name == "Gateway__Auth__SigningKey").ValueFrom.SecretKeyRef.Key);
            Assert.False(string.IsNullOrEmpty(gw.Env.Single(e => e.Name == "Gateway__Tls__CertificatePath").Value));
            Assert.Equal("HTTPS", gw.ReadinessProbe.HttpGet.Scheme);
            Assert.NotNull(silo.Spec.Template.Spec.Affinity?.PodAntiAffinity);
            Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        }
        else
        {
            Assert.Equal(1, gateway.Spec.Replicas);
            Assert.Null(objects.OfType<V1StatefulSet>().Single(x => x.Metadata.Name == "redis").Spec.VolumeClaimTemplates);
        }
    }

    private static IEnumerable<V1Container> Containers(object workload) => workload switch
    {
        V1Deployment d => d.Spec.Template.Spec.Containers,
        V1StatefulSet x => x.Spec.Template.Spec.Containers,
        _ => [],
    };

    /// <summary>The options a program would bind from this container's environment (Section__Key = Section:Key).</summary>
    private static T Bind<T>(V1Container container, string section) where T : new() =>
        new ConfigurationBuilder().AddInMemoryCollection((container.Env ?? []).Where(e => e.Value is not null)
            .Select(e => KeyValuePair.Create(e.Name.Replace("__", ":"), (string?)e.Value))).Build().GetSection(section).Get<T>() ?? new T();

    private static int Port(V1Container container, IntOrString port) =>
        int.TryParse(port.Value, out var number) ? number : container.Ports.Single(p => p.Name == port.Value).ContainerPort;

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string Render(string overlay)
    {
        var info = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "kustomize", Repository.Path("deploy", "k8s", "overlays", overlay) }) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("kubectl did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {overlay}: {error}");
        return output.Result;
    }
}
