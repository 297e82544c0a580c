//! One run: the options it takes besides the scenario, the world set up
//! from a scenario (nodes started or formed, actions on the agenda), played
//! to a time, and summed up into its report.

use std::time::{Duration, Instant};

use rumor_membership::{DetectorRegistry, Event, NodeId, Time};

use super::wire::{DatagramSizes, WireCheck};
use super::{Cluster, INTRODUCERS, NodeSetup, Slot, Step, World, engine_kind, slot_addr};
use crate::SimError;
use crate::event_queue::EventQueue;
use crate::heal_report::Heals;
use crate::ledger::Ledger;
use crate::network::Network;
use crate::notices::NoticeCounts;
use crate::report::{Drops, RunReport, secs};
use crate::rng::{DetRng, derive_seed, stream};
use crate::scenario::{Bootstrap, Scenario};
use crate::traffic::Traffic;

/// What a run gives back besides its report.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The measurements.
    pub report: RunReport,
    /// Every event every core emitted, in emission order, when
    /// [`RunOptions::record_events`] was set.
    pub events: Vec<Event>,
    /// Each live node's final member list, when
    /// [`RunOptions::record_members`] was set: `(node, members)` by slot.
    pub members: Vec<(NodeId, Vec<rumor_membership::MemberInfo>)>,
}

/// Knobs of one run that are not part of the scenario. Start from
/// `RunOptions::default()` (everything off) and switch on what you need:
///
/// ```
/// let options = rumor_sim::RunOptions::default().with_events(true).with_wire(true);
/// assert!(options.record_events && options.wire && !options.record_members);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Keep every event (memory grows with n²: for small clusters).
    pub record_events: bool,
    /// Keep every live node's final member list.
    pub record_members: bool,
    /// Measure wall-clock time (leave off for byte-identical output).
    pub wall_time: bool,
    /// Keep every notice the cores give, by slot, for
    /// [`Cluster::notices`] (they are counted either way).
    pub record_notices: bool,
    /// Carry every rumor message as bytes through the real codec: each
    /// transmit is drained with `Membership::poll_transmit`, checked (its
    /// length as the core counted it, decodable with `rumor_wire`, sent
    /// from the node's own address, a datagram within the limit) and
    /// decoded for its receiver; join answers are encoded and decoded too.
    /// What fails a check is counted ([`crate::ClusterStats::wire_errors`]) and
    /// not delivered. Slower: for tests of the core, not for experiments.
    pub wire: bool,
}

impl RunOptions {
    /// With [`RunOptions::record_events`] set to `on`.
    pub fn with_events(mut self, on: bool) -> RunOptions {
        self.record_events = on;
        self
    }

    /// With [`RunOptions::record_notices`] set to `on`.
    pub fn with_notices(mut self, on: bool) -> RunOptions {
        self.record_notices = on;
        self
    }

    /// With [`RunOptions::record_members`] set to `on`.
    pub fn with_members(mut self, on: bool) -> RunOptions {
        self.record_members = on;
        self
    }

    /// With [`RunOptions::wall_time`] set to `on`.
    pub fn with_wall_time(mut self, on: bool) -> RunOptions {
        self.wall_time = on;
        self
    }

    /// With [`RunOptions::wire`] set to `on`.
    pub fn with_wire(mut self, on: bool) -> RunOptions {
        self.wire = on;
        self
    }
}

/// Runs `scenario` once with `seed`, creating detectors from `registry`:
/// a [`Cluster`] played to the scenario's end.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    registry: &DetectorRegistry,
    options: RunOptions,
) -> Result<RunOutcome, SimError> {
    let mut cluster = Cluster::new(scenario, seed, registry, options)?;
    cluster.run_until(scenario.duration);
    Ok(cluster.finish())
}

impl<'a> World<'a> {
    /// The world of one run, its first steps on the agenda: the nodes'
    /// starts (or the converged cluster), the bootstrap's resyncs and the
    /// scenario's timed actions; `setup` adds to the nodes what a cluster's
    /// builder asked for (slots it holds back get no start).
    pub(super) fn new(
        scenario: &Scenario,
        seed: u64,
        registry: &'a DetectorRegistry,
        options: RunOptions,
        setup: NodeSetup,
    ) -> Result<World<'a>, SimError> {
        scenario.validate()?;
        let config = scenario.membership_config();
        let engine = engine_kind(scenario, registry, &config)?;
        setup.validate(scenario.nodes, &engine, registry, &config)?;
        let n = scenario.nodes;
        let window_start = scenario.warmup.min(scenario.duration);
        let mut world = World {
            seed,
            engine,
            registry,
            loss: scenario.loss,
            loss_changes: 0,
            leave_linger: scenario.leave_linger,
            receive_buffer: scenario.receive_buffer,
            pauses: 0,
            queue: EventQueue::new(),
            network: Network::new(
                scenario.network.clone(),
                derive_seed(seed, stream::NETWORK, 0),
            ),
            slots: (0..n)
                .map(|slot| Slot {
                    addr: slot_addr(slot),
                    version: 0,
                    generation: 0,
                    process: None,
                    tick_at: None,
                    last_request: None,
                    paused: None,
                    notices: Vec::new(),
                })
                .collect(),
            introducers: (0..n.min(INTRODUCERS)).map(slot_addr).collect(),
            plan: scenario.plan(seed),
            ledger: Ledger::new(n, options.record_events),
            heals: Heals::default(),
            heal_check_armed: false,
            traffic: Traffic::new(n, window_start),
            drops: Drops::default(),
            notices: NoticeCounts::default(),
            wire: options.wire.then(WireCheck::default),
            datagrams: DatagramSizes::default(),
            rejoins: 0,
            suspicions_raised: 0,
            engine_errors: 0,
            joins_refused: 0,
            steps: 0,
            now: Duration::ZERO,
            transmits: Vec::new(),
            events: Vec::new(),
            record_notices: options.record_notices,
            setup,
            config,
        };
        // Node 0 founds the cluster; the others start spread over the join window.
        let mut join_rng = DetRng::new(derive_seed(seed, stream::JOIN, 0));
        let window = scenario.join_window.as_nanos() as u64;
        if scenario.bootstrap == Bootstrap::Converged {
            world.form_converged();
        } else {
            world.queue.push(Duration::ZERO, Step::Start { slot: 0 });
            for slot in 1..n {
                let at = if window == 0 {
                    0
                } else {
                    join_rng.below(window + 1)
                };
                // A slot held back draws its time all the same, so the
                // others start when they would without it.
                if !world.setup.later.contains(&slot) {
                    world
                        .queue
                        .push(Duration::from_nanos(at), Step::Start { slot: slot as u32 });
                }
            }
        }
        if scenario.bootstrap == Bootstrap::Sync {
            // Spread over 100 ms so the introducer is not asked N times at one instant.
            let spread = 100_000_000u64;
            for slot in 1..n {
                let at = scenario.join_window + Duration::from_nanos(join_rng.below(spread));
                if !world.setup.later.contains(&slot) {
                    world.queue.push(at, Step::Resync { slot: slot as u32 });
                }
            }
        }
        for (i, (at, _)) in world.plan.iter().enumerate() {
            world.queue.push(*at, Step::Act(i));
        }
        Ok(world)
    }

    /// Plays every step due at or before `until`, then sets the clock
    /// there (never back).
    pub(super) fn run_until(&mut self, until: Time) {
        while self.queue.peek_time().is_some_and(|t| t <= until) {
            let (at, step) = self.queue.pop().expect("peek_time just saw a step");
            self.now = at;
            self.steps += 1;
            self.step(step);
        }
        self.now = self.now.max(until);
    }

    /// The report and records of the run so far, the clock's time its end.
    pub(super) fn finish(mut self, options: RunOptions, started: Instant) -> RunOutcome {
        let end = self.now;
        let members = if options.record_members {
            self.slots
                .iter()
                .filter_map(|s| s.process.as_ref())
                .map(|p| (p.id, p.core.members()))
                .collect()
        } else {
            Vec::new()
        };
        let running = || self.slots.iter().filter_map(|s| s.process.as_ref());
        let suspicions_raised =
            self.suspicions_raised + running().map(|p| p.core.suspicions_raised()).sum::<u64>();
        let engine_errors = self.engine_errors + running().map(|p| p.core.errors()).sum::<u64>();
        let rates = self.traffic.finish(end);
        let counts = self.ledger.counts;
        let report = RunReport {
            seed: self.seed,
            crashes: self.ledger.crash_outcomes(),
            leaves: self.ledger.leave_outcomes(),
            heals: self.heals.finish(),
            false_positives: self.ledger.false_positives(),
            false_positive_marks: self.ledger.false_positive_marks(),
            pauses: self.pauses,
            pause_false_positives: self.ledger.pause_false_positives(),
            pause_false_positive_marks: self.ledger.pause_false_positive_marks(),
            partition_false_positives: self.ledger.partition_false_positives(),
            partition_false_positive_marks: self.ledger.partition_false_positive_marks(),
            left_marked_failed: self.ledger.left_marked_failed(),
            full_view_s: self.ledger.full_view_at().map(secs),
            messages_per_node_s: rates.messages_per_node_s,
            bytes_per_node_s: rates.bytes_per_node_s,
            max_bytes_per_node_s: rates.max_bytes_per_node_s,
            suspicions: counts.suspected,
            suspicions_raised,
            engine_errors,
            refutations: counts.alive,
            joined_events: counts.joined,
            removed_events: counts.removed,
            spurious_left: counts.spurious_left,
            unknown_member_events: counts.unknown_member,
            rejoins: self.rejoins,
            joins_refused: self.joins_refused,
            notices: self.notices,
            drops: self.drops.clone(),
            steps: self.steps,
            wall_time_s: options.wall_time.then(|| started.elapsed().as_secs_f64()),
        };
        RunOutcome {
            report,
            events: self.ledger.take_events(),
            members,
        }
    }
}
