//! [`ClusterBuilder`]: how a [`Cluster`] starts, beyond what a
//! [`Scenario`] says (metadata, calls on each new core, nodes held back).

use std::sync::Arc;
use std::time::Duration;

use rumor_membership::{Config, DetectorRegistry, Membership, Metadata, Time};

use super::RunOptions;
use super::cluster::Cluster;
use super::setup::NodeSetup;
use crate::SimError;
use crate::action::ActionSpec;
use crate::scenario::{Bootstrap, Scenario};

/// How a [`Cluster`] starts: a [`Scenario`] (nodes, detector, network,
/// faults on a timetable), a seed and [`RunOptions`]; and, beyond what a
/// scenario says, the nodes' metadata, calls on each new core and nodes
/// held back to start later.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    scenario: Scenario,
    seed: u64,
    options: RunOptions,
    setup: NodeSetup,
}

impl ClusterBuilder {
    /// A builder for `nodes` nodes: the defaults of [`Scenario`], seed 1,
    /// every event and every notice recorded.
    pub(super) fn new(nodes: usize) -> ClusterBuilder {
        ClusterBuilder {
            scenario: Scenario {
                nodes,
                ..Scenario::default()
            },
            seed: 1,
            options: RunOptions::default().with_events(true).with_notices(true),
            setup: NodeSetup::default(),
        }
    }

    /// Starts from `scenario`: its `nodes` and `seed` replace the
    /// builder's, its actions are on the agenda.
    pub fn scenario(mut self, scenario: Scenario) -> ClusterBuilder {
        self.seed = scenario.seed;
        self.scenario = scenario;
        self
    }

    /// The detector every node runs, by registered name (or `foca`).
    pub fn detector(mut self, name: &str) -> ClusterBuilder {
        self.scenario.detector = Some(name.to_owned());
        self
    }

    /// The membership configuration every node runs.
    pub fn config(mut self, config: Config) -> ClusterBuilder {
        self.scenario.config = config;
        self
    }

    /// The seed everything random derives from.
    pub fn seed(mut self, seed: u64) -> ClusterBuilder {
        self.scenario.seed = seed;
        self.seed = seed;
        self
    }

    /// Receiver-side drop probability.
    pub fn loss(mut self, loss: f64) -> ClusterBuilder {
        self.scenario.loss = loss;
        self
    }

    /// In-transit loss probability.
    pub fn net_loss(mut self, loss: f64) -> ClusterBuilder {
        self.scenario.network.loss = loss;
        self
    }

    /// One-way base latency and the uniform jitter on top of it.
    pub fn latency(mut self, base: Duration, jitter: Duration) -> ClusterBuilder {
        self.scenario.network.latency = base;
        self.scenario.network.jitter = jitter;
        self
    }

    /// Nodes other than node 0 start at random times within this window.
    pub fn join_window(mut self, window: Duration) -> ClusterBuilder {
        self.scenario.join_window = window;
        self
    }

    /// How the cluster forms (see [`Bootstrap`]).
    pub fn bootstrap(mut self, bootstrap: Bootstrap) -> ClusterBuilder {
        self.scenario.bootstrap = bootstrap;
        self
    }

    /// How long a leaving node runs on after `leave()` before it stops.
    pub fn leave_linger(mut self, linger: Duration) -> ClusterBuilder {
        self.scenario.leave_linger = linger;
        self
    }

    /// When traffic measurement starts (and the scenario's `fail` and
    /// `leave` act).
    pub fn warmup(mut self, warmup: Duration) -> ClusterBuilder {
        self.scenario.warmup = warmup;
        self
    }

    /// Adds a timed action to the agenda.
    pub fn action(mut self, action: ActionSpec) -> ClusterBuilder {
        self.scenario.actions.push(action);
        self
    }

    /// Every process of `slot` (restarts included) starts with
    /// `metadata`, as an agent started with tags: its join request
    /// carries it. A later call for the same slot replaces it. `build`
    /// fails on a slot out of range, on metadata the configuration's
    /// datagrams cannot carry, and with foca, which carries none.
    pub fn metadata(mut self, slot: usize, metadata: Metadata) -> ClusterBuilder {
        self.setup.metadata.insert(slot, metadata);
        self
    }

    /// Calls `setup` with the slot, the core and the virtual time on every
    /// rumor core as it is created (restarts included), before it joins or
    /// takes the converged view: what a program does to its node before it
    /// starts it, such as installing an admission check. What the core
    /// queues goes out with its first messages. Several calls run in the
    /// order given; foca processes are left as they are.
    ///
    /// ```
    /// # use rumor_membership::{Metadata, NodeId};
    /// # let registry = rumor_membership::DetectorRegistry::with_builtins();
    /// let web = Metadata::from_pairs([("role", "web")]).unwrap();
    /// let cluster = rumor_sim::Cluster::builder(3)
    ///     .metadata(1, web.clone())
    ///     .metadata(2, web)
    ///     .setup(|_slot, core, _now| {
    ///         core.set_admission(|_: &NodeId, m: &Metadata| match m.get("role") {
    ///             Some("web") => Ok(()),
    ///             _ => Err("web servers only".to_owned()),
    ///         })
    ///     })
    ///     .build(&registry)
    ///     .unwrap();
    /// ```
    pub fn setup(
        mut self,
        setup: impl Fn(usize, &mut Membership, Time) + Send + Sync + 'static,
    ) -> ClusterBuilder {
        self.setup.calls.push(Arc::new(setup));
        self
    }

    /// Leaves `slots` empty when the cluster starts: each starts when the
    /// caller calls [`Cluster::start`], a new node joining a running
    /// cluster. The other nodes start when they would without it. `build`
    /// fails on a slot out of range and on slot 0, which founds the
    /// cluster.
    pub fn start_later(mut self, slots: &[usize]) -> ClusterBuilder {
        self.setup.later.extend(slots);
        self
    }

    /// What the run keeps and checks (the builder's default records
    /// events and notices).
    pub fn options(mut self, options: RunOptions) -> ClusterBuilder {
        self.options = options;
        self
    }

    /// Carries every message through the real codec ([`RunOptions::wire`]).
    pub fn wire(mut self, on: bool) -> ClusterBuilder {
        self.options.wire = on;
        self
    }

    /// The cluster, its clock at zero, detectors created from `registry`.
    pub fn build(self, registry: &DetectorRegistry) -> Result<Cluster<'_>, SimError> {
        Cluster::with_setup(
            &self.scenario,
            self.seed,
            registry,
            self.options,
            self.setup,
        )
    }
}
