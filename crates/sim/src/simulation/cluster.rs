//! [`Cluster`]: the simulator as a library, an in-memory cluster that a
//! caller drives step by step — the harness of the membership core's
//! tests, of out-of-tree detectors and of the simulator's own runs
//! ([`crate::run`] is a cluster played to the scenario's end).
//!
//! A cluster is a [`Scenario`]'s world on the virtual clock: its nodes
//! start as the scenario says and its timed actions stay on the agenda.
//! Between two calls that advance the clock the caller may act at once
//! (start a node held back, crash, restart, leave, cut, heal, pause,
//! change the loss), hand a node a message of its own making, reach into a
//! node's core, and look at views, events, notices and counters. Its
//! builder can also do for the nodes what a program embedding the core
//! does before it starts its node (metadata, an admission check, any call
//! on the new core), and hold nodes back to join a running cluster later.
//! Detectors come from the caller's [`DetectorRegistry`], so a detector
//! defined outside this workspace runs here like a built-in.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rumor_membership::{
    Config, DetectorRegistry, Event, Gossip, MemberInfo, MemberState, Membership, NodeId, Notice,
    Time,
};

use super::cluster_builder::ClusterBuilder;
use super::engine::Payload;
use super::setup::NodeSetup;
use super::{RunOptions, RunOutcome, World};
use crate::SimError;
use crate::action::Action;
use crate::notices::NoticeCounts;
use crate::report::Drops;
use crate::scenario::Scenario;

/// An in-memory cluster on the virtual clock.
///
/// ```
/// use std::time::Duration;
/// use rumor_membership::{DetectorRegistry, EventKind};
/// use rumor_sim::Cluster;
///
/// let registry = DetectorRegistry::with_builtins();
/// let mut cluster = Cluster::builder(5).detector("swim").seed(7).build(&registry).unwrap();
/// // Nodes start within the join window (2 s by default): wait until
/// // every one of them lists all five alive.
/// assert!(cluster.run_until_holds(Duration::from_secs(5), Duration::from_millis(10), |c| {
///     c.every_live_node_sees_alive(5)
/// }));
/// let victim = cluster.id(3).unwrap();
/// cluster.crash(3);
/// cluster.run_for(Duration::from_secs(5));
/// let failed = cluster
///     .events()
///     .iter()
///     .filter(|e| e.kind == EventKind::Failed && e.member == victim)
///     .count();
/// assert_eq!(failed, 4, "every live node marked it failed");
/// ```
pub struct Cluster<'r> {
    world: World<'r>,
    options: RunOptions,
    started: Instant,
}

/// Counters of a cluster so far (see also [`Cluster::finish`]'s report).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClusterStats {
    /// Undelivered messages by cause.
    pub drops: Drops,
    /// Notices the rumor cores gave, by kind.
    pub notices: NoticeCounts,
    /// New versions the cores took by themselves (rejoins).
    pub rejoins: u64,
    /// Distinct live members some node marked failed, partition-caused
    /// marks aside (as [`crate::RunReport::false_positives`]).
    pub false_positives: usize,
    /// Datagrams the nodes sent (to any address).
    pub datagrams: u64,
    /// The largest of them, bytes of its envelope.
    pub largest_datagram: usize,
    /// Messages that failed a codec check ([`RunOptions::wire`]); always 0
    /// without it.
    pub wire_errors: u64,
    /// Steps played (deliveries, timers, join exchanges, actions).
    pub steps: u64,
}

impl<'r> Cluster<'r> {
    /// A builder for a cluster of `nodes` nodes: the defaults of
    /// [`Scenario`], seed 1, every event and every notice recorded.
    pub fn builder(nodes: usize) -> ClusterBuilder {
        ClusterBuilder::new(nodes)
    }

    /// The cluster of `scenario` with `seed`, its clock at zero, detectors
    /// created from `registry`. Fails as [`crate::run`] does: an invalid
    /// scenario, an unknown detector, a configuration the core refuses.
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        registry: &'r DetectorRegistry,
        options: RunOptions,
    ) -> Result<Cluster<'r>, SimError> {
        Cluster::with_setup(scenario, seed, registry, options, NodeSetup::default())
    }

    /// As [`Cluster::new`], with what a builder adds to the nodes.
    pub(super) fn with_setup(
        scenario: &Scenario,
        seed: u64,
        registry: &'r DetectorRegistry,
        options: RunOptions,
        setup: NodeSetup,
    ) -> Result<Cluster<'r>, SimError> {
        let started = Instant::now();
        Ok(Cluster {
            world: World::new(scenario, seed, registry, options, setup)?,
            options,
            started,
        })
    }

    /// How many slots (nodes) the cluster has.
    pub fn nodes(&self) -> usize {
        self.world.slots.len()
    }

    /// The virtual time.
    pub fn now(&self) -> Time {
        self.world.now
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.world.seed
    }

    /// The membership configuration every node runs.
    pub fn config(&self) -> &Config {
        &self.world.config
    }

    /// Plays every step due at or before `until` and sets the clock there
    /// (a time already past leaves the clock as it is).
    pub fn run_until(&mut self, until: Time) {
        self.world.run_until(until);
    }

    /// Plays `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.world.now + span;
        self.world.run_until(until);
    }

    /// Plays on until `done` holds, checked now and then every `every`,
    /// for at most `within`. True as soon as it holds, the clock left at
    /// that check; false when `within` ran out first.
    ///
    /// # Panics
    /// When `every` is zero.
    pub fn run_until_holds(
        &mut self,
        within: Duration,
        every: Duration,
        mut done: impl FnMut(&Cluster<'r>) -> bool,
    ) -> bool {
        assert!(!every.is_zero(), "a check interval of zero never advances");
        let limit = self.world.now + within;
        loop {
            if done(self) {
                return true;
            }
            if self.world.now >= limit {
                return false;
            }
            let next = (self.world.now + every).min(limit);
            self.world.run_until(next);
        }
    }

    /// Plays `action` now. Actions name slots: one out of range panics.
    pub fn act(&mut self, action: Action) {
        self.world.act(action);
    }

    /// Starts a process in the empty `slot` (one held back by
    /// [`ClusterBuilder::start_later`], or whose process crashed or
    /// stopped), under a new version; it joins through the introducers as
    /// every node does. False, and nothing done, when one runs there.
    pub fn start(&mut self, slot: usize) -> bool {
        if self.is_running(slot) {
            return false;
        }
        self.world.start(slot);
        true
    }

    /// The process in `slot` stops without a word.
    pub fn crash(&mut self, slot: usize) {
        self.act(Action::Crash(vec![slot]));
    }

    /// A new process, under a new version, starts in `slot` (the one
    /// running there, if any, crashes first) and joins through the
    /// introducers.
    pub fn restart(&mut self, slot: usize) {
        self.act(Action::Restart(vec![slot]));
    }

    /// The process in `slot` leaves voluntarily, keeps running for the
    /// scenario's `leave_linger`, then stops.
    pub fn leave(&mut self, slot: usize) {
        self.act(Action::Leave(vec![slot]));
    }

    /// Cuts `a` from `b` both ways; streams between them fail too.
    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        self.act(Action::Partition {
            from: a.to_vec(),
            to: Some(b.to_vec()),
            one_way: false,
        });
    }

    /// Cuts what `from` sends to `to`; `to` still reaches `from`
    /// (streams, which need both ways, fail).
    pub fn partition_one_way(&mut self, from: &[usize], to: &[usize]) {
        self.act(Action::Partition {
            from: from.to_vec(),
            to: Some(to.to_vec()),
            one_way: true,
        });
    }

    /// Cuts `slots` from every other node, both ways.
    pub fn isolate(&mut self, slots: &[usize]) {
        self.act(Action::Partition {
            from: slots.to_vec(),
            to: None,
            one_way: false,
        });
    }

    /// Lifts every cut in force.
    pub fn heal(&mut self) {
        self.act(Action::Heal);
    }

    /// The process in `slot` runs nothing for `lasting` (no timer, no
    /// datagram handled, nothing sent); what reaches it waits in its
    /// receive buffer, and it catches up when it resumes.
    pub fn pause(&mut self, slot: usize, lasting: Duration) {
        self.act(Action::Pause {
            nodes: vec![slot],
            lasting,
        });
    }

    /// Sets the receiver-side drop probability of every node.
    pub fn set_loss(&mut self, loss: f64) {
        self.act(Action::SetLoss {
            receiver: Some(loss),
            network: None,
        });
    }

    /// Sets the in-transit loss probability of every datagram.
    pub fn set_net_loss(&mut self, loss: f64) {
        self.act(Action::SetLoss {
            receiver: None,
            network: Some(loss),
        });
    }

    /// Hands the process in `slot` `message` as if it came from `from`,
    /// now, past the network and the drop layer; what the core does about
    /// it goes out as usual. False when nothing runs there.
    pub fn inject(&mut self, slot: usize, from: SocketAddr, message: Gossip) -> bool {
        let now = self.world.now;
        let Some(p) = &mut self.world.slots[slot].process else {
            return false;
        };
        p.core.handle(now, from, Payload::Rumor(message));
        self.world.flush(slot, false);
        true
    }

    /// Calls `f` with the rumor core in `slot` and the virtual time, as
    /// its driver would, then carries out what the core queued (messages,
    /// events, notices, a new version, its timer). `None` when nothing
    /// runs there or the process is not a rumor core.
    ///
    /// The simulator never takes the user broadcasts a core received:
    /// they wait for the caller, as for a program, and this is how to
    /// drain them:
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use rumor_membership::UserBroadcast;
    /// # let registry = rumor_membership::DetectorRegistry::with_builtins();
    /// # let mut cluster = rumor_sim::Cluster::builder(3).seed(2).build(&registry).unwrap();
    /// cluster.run_for(Duration::from_secs(3));
    /// cluster.with_core(0, |core, now| core.broadcast(now, b"hello".to_vec()));
    /// cluster.run_for(Duration::from_secs(2));
    /// let got: Option<Vec<UserBroadcast>> =
    ///     cluster.with_core(2, |core, _| std::iter::from_fn(|| core.poll_broadcast()).collect());
    /// assert_eq!(got.unwrap()[0].payload, b"hello");
    /// ```
    pub fn with_core<R>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&mut Membership, Time) -> R,
    ) -> Option<R> {
        let now = self.world.now;
        let core = self.world.slots[slot]
            .process
            .as_mut()
            .and_then(|p| p.core.rumor())?;
        let out = f(core, now);
        self.world.flush(slot, false);
        Some(out)
    }

    /// The rumor core in `slot`, to look at; `None` when nothing runs
    /// there or the process is not a rumor core.
    pub fn core(&self, slot: usize) -> Option<&Membership> {
        self.world.slots[slot]
            .process
            .as_ref()
            .and_then(|p| p.core.rumor_ref())
    }

    /// The identity of the process in `slot` (its current version).
    pub fn id(&self, slot: usize) -> Option<NodeId> {
        self.world.slots[slot].process.as_ref().map(|p| p.core.id())
    }

    /// The listening address of `slot` (fixed across restarts).
    pub fn addr(&self, slot: usize) -> SocketAddr {
        self.world.slots[slot].addr
    }

    /// Whether a process runs in `slot` (it may have left and be lingering).
    pub fn is_running(&self, slot: usize) -> bool {
        self.world.slots[slot].process.is_some()
    }

    /// Slots whose process runs and has not left, in order.
    pub fn live_slots(&self) -> Vec<usize> {
        (0..self.nodes())
            .filter(|&slot| {
                self.world.slots[slot]
                    .process
                    .as_ref()
                    .is_some_and(|p| !p.core.has_left())
            })
            .collect()
    }

    /// The member list of the process in `slot` (empty when none runs).
    pub fn members(&self, slot: usize) -> Vec<MemberInfo> {
        self.world.slots[slot]
            .process
            .as_ref()
            .map(|p| p.core.members())
            .unwrap_or_default()
    }

    /// Members the process in `slot` lists alive or suspected, itself
    /// included (0 when none runs).
    pub fn live_count(&self, slot: usize) -> usize {
        self.world.slots[slot]
            .process
            .as_ref()
            .map_or(0, |p| p.core.live_count())
    }

    /// Every event recorded so far, in emission order (empty unless
    /// [`RunOptions::record_events`] is set, as the builder sets it).
    pub fn events(&self) -> &[Event] {
        self.world.ledger.events()
    }

    /// Every notice the processes in `slot` gave so far (restarts
    /// included), in order: joins asked, admitted and refused, rejoins,
    /// members' new metadata. Empty unless [`RunOptions::record_notices`]
    /// is set, as the builder sets it; [`ClusterStats::notices`] counts
    /// them either way.
    pub fn notices(&self, slot: usize) -> &[Notice] {
        &self.world.slots[slot].notices
    }

    /// Whether the cluster is one full membership: every running node
    /// that has not left lists exactly the current versions of all of
    /// them as live (alive or suspected), and nothing else live. Nodes yet
    /// to start (within the join window) do not count; false while no
    /// node runs.
    pub fn is_full_membership(&self) -> bool {
        !self.live_slots().is_empty() && self.world.full_membership()
    }

    /// Whether every running node that has not left lists at least `k`
    /// members alive (not suspected), itself included; false while no
    /// node runs.
    pub fn every_live_node_sees_alive(&self, k: usize) -> bool {
        let live = self.live_slots();
        !live.is_empty()
            && live.into_iter().all(|slot| {
                self.members(slot)
                    .iter()
                    .filter(|m| m.state == MemberState::Alive)
                    .count()
                    >= k
            })
    }

    /// The counters so far.
    pub fn stats(&self) -> ClusterStats {
        let w = &self.world;
        ClusterStats {
            drops: w.drops.clone(),
            notices: w.notices,
            rejoins: w.rejoins,
            false_positives: w.ledger.false_positives(),
            datagrams: w.datagrams.count,
            largest_datagram: w.datagrams.largest,
            wire_errors: w.wire.as_ref().map_or(0, |wire| wire.errors),
            steps: w.steps,
        }
    }

    /// Ends the run now: its report (crashes, leaves and heals measured
    /// against the ground truth, false positives, traffic over the
    /// scenario's measurement window up to now) and, as the options asked,
    /// its events and the final member lists.
    pub fn finish(self) -> RunOutcome {
        self.world.finish(self.options, self.started)
    }
}
