using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace LongLived.Channelz;

/// <summary>
/// Round-robin (Grpc.Net.Client's own balancer) observed for channelz: resolver results and connectivity changes become
/// trace events, every subchannel becomes a channelz subchannel with its state, and every call picked for it is counted
/// on the subchannel and on the channel. Configure it by name: <see cref="PolicyName"/>.
/// </summary>
public sealed class ChannelzRoundRobinFactory(ChannelzRegistry registry, ChannelzChannel channel) : LoadBalancerFactory
{
    public const string PolicyName = "channelz_round_robin";

    public override string Name => PolicyName;

    public override LoadBalancer Create(LoadBalancerOptions options)
    {
        var helper = new ObservingHelper(options.Controller, registry, channel);
        var roundRobin = new RoundRobinBalancerFactory().Create(new LoadBalancerOptions(helper, options.LoggerFactory, options.Configuration));
        return new ObservingBalancer(roundRobin, channel);
    }

    private sealed class ObservingBalancer(LoadBalancer inner, ChannelzChannel channel) : LoadBalancer
    {
        public override void UpdateChannelState(ChannelState state)
        {
            var addresses = state.Addresses ?? [];
            channel.Trace(state.Status.StatusCode == StatusCode.OK
                ? $"Resolver state updated: {addresses.Count} address(es): {string.Join(", ", addresses.Select(a => a.EndPoint))}"
                : $"Resolver error: {state.Status.StatusCode} {state.Status.Detail}", warning: state.Status.StatusCode != StatusCode.OK);
            inner.UpdateChannelState(state);
        }

        public override void RequestConnection() => inner.RequestConnection();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            channel.SetState(ConnectivityState.Shutdown, "Channel");
        }
    }

    private sealed class ObservingHelper(IChannelControlHelper inner, ChannelzRegistry registry, ChannelzChannel channel) : IChannelControlHelper
    {
        private readonly ConcurrentDictionary<Subchannel, ChannelzChannel> _subchannels = new(ReferenceEqualityComparer.Instance);

        public Subchannel CreateSubchannel(SubchannelOptions options)
        {
            var subchannel = inner.CreateSubchannel(options);
            var address = string.Join(",", options.Addresses.Select(a => a.EndPoint.ToString()));
            var entry = registry.AddSubchannel(channel, address);
            _subchannels[subchannel] = entry;
            channel.Trace($"Created subchannel {entry.Id} for {address}");
            entry.Trace("Subchannel created");
            subchannel.OnStateChanged(state =>
            {
                entry.SetState(state.State, "Subchannel");
                if (state.State == ConnectivityState.Shutdown) registry.RemoveSubchannel(channel, entry);
            });
            return subchannel;
        }

        public void UpdateState(BalancerState state)
        {
            channel.SetState(state.ConnectivityState, "Channel");
            inner.UpdateState(new BalancerState(state.ConnectivityState, new CountingPicker(state.Picker, _subchannels, channel)));
        }

        public void RefreshResolver() => inner.RefreshResolver();
    }

    private sealed class CountingPicker(SubchannelPicker inner, ConcurrentDictionary<Subchannel, ChannelzChannel> subchannels, ChannelzChannel channel) : SubchannelPicker
    {
        public override PickResult Pick(PickContext context)
        {
            var result = inner.Pick(context);
            return result.Type == PickResultType.Complete && result.Subchannel is { } picked && subchannels.TryGetValue(picked, out var entry)
                ? PickResult.ForSubchannel(picked, new Tracker(result.SubchannelCallTracker, entry, channel))
                : result;
        }
    }

    private sealed class Tracker(ISubchannelCallTracker? inner, ChannelzChannel subchannel, ChannelzChannel channel) : ISubchannelCallTracker
    {
        public void Start()
        {
            inner?.Start();
            subchannel.Calls.CallStarted();
            channel.Calls.CallStarted();
        }

        public void Complete(CompletionContext context)
        {
            inner?.Complete(context);
            var ok = context.Error is null;
            subchannel.Calls.CallEnded(ok);
            channel.Calls.CallEnded(ok);
        }
    }
}
