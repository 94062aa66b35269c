// The suite starts real silos and gateways; on a 2-core machine, running collections side by side only adds noise.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
