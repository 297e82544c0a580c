//! The discrete-event driver: many membership cores on one virtual clock.
//!
//! Each node is a slot with a fixed listening address; a slot runs one
//! process at a time (a [`Membership`] core behind a [`ReceiverDrop`]), and a
//! restart puts a new process with a higher version in the same slot. A core
//! may also take a new version by itself (a rejoin): the process runs on, and
//! the ledger retires the old version and starts the new one. The agenda
//! holds deliveries, timers, join exchanges and scenario actions; the loop
//! pops the earliest, hands it to the core it concerns, then drains that
//! core's transmits (through the [`Network`]), events (into the ledger) and
//! notices (counted, and kept per slot when asked), and re-arms its timer
//! from `poll_timeout`.

mod actions;
mod cluster;
mod cluster_builder;
mod converged;
mod delivery;
mod engine;
mod healing;
mod join_exchange;
mod pausing;
mod run;
mod setup;
mod wire;

pub use cluster::{Cluster, ClusterStats};
pub use cluster_builder::ClusterBuilder;
pub use run::{RunOptions, RunOutcome, run};

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use rumor_membership::{
    Config, DetectorRegistry, DetectorSettings, Event, Extras, Gossip, Membership, NodeId, Notice,
    ReceiverDrop, Time, Version,
};

use crate::SimError;
use crate::action::Action;
use crate::event_queue::EventQueue;
use crate::foca_node::{self, FocaNode};
use crate::heal_report::Heals;
use crate::ledger::Ledger;
use crate::network::Network;
use crate::notices::NoticeCounts;
use crate::report::Drops;
use crate::rng::{derive_seed, stream};
use crate::scenario::Scenario;
use crate::traffic::Traffic;
use engine::{Engine, Outgoing, Payload};
use setup::NodeSetup;
use wire::{DatagramSizes, WireCheck};

/// Node `i` listens on `10.0.0.0 + i + 1`, port [`PORT`].
const BASE_IP: u32 = 0x0A00_0001;
/// The port every simulated node listens on.
pub const PORT: u16 = 4000;
/// Versions look like Unix milliseconds, as the daemon's do: this epoch plus
/// the virtual time a process starts.
pub(crate) const VERSION_EPOCH_MS: u64 = 1_763_900_000_000;
/// The introducers every node is given (its `--join` list, also its seeds):
/// node 0 first, then the next lowest-numbered nodes.
const INTRODUCERS: usize = 3;
/// A timer the core asks for at or before the instant it just ticked at is
/// pushed this far ahead, so a core that never advances its deadline cannot
/// stall the clock.
const MIN_TICK_STEP: Duration = Duration::from_millis(1);

/// The listening address of slot `slot`.
pub fn slot_addr(slot: usize) -> SocketAddr {
    let ip = Ipv4Addr::from(BASE_IP + slot as u32);
    SocketAddr::V4(SocketAddrV4::new(ip, PORT))
}
struct Process {
    /// The version the ledger knows this process by; the core's own id
    /// differs after a rejoin until the next flush catches up.
    id: NodeId,
    core: Engine,
    drop: ReceiverDrop,
    /// The core's rejoin counter as last seen.
    rejoins: u64,
}

struct Slot {
    addr: SocketAddr,
    /// The newest version of this address (0: never started).
    version: u64,
    /// Bumped whenever the process changes; stale timers and join exchanges
    /// carry the old value and are ignored.
    generation: u64,
    process: Option<Process>,
    /// The tick currently armed on the agenda, if any.
    tick_at: Option<Time>,
    /// The latest join request sent (to, nonce): only its failure is told
    /// to the core, not that of a request it no longer waits for.
    last_request: Option<(SocketAddr, u64)>,
    /// Set while the process is paused.
    paused: Option<Box<pausing::Paused>>,
    /// Every notice its processes gave, in order, when
    /// [`RunOptions::record_notices`] is set.
    notices: Vec<Notice>,
}

enum Step {
    Start {
        slot: u32,
    },
    /// A join request reaches `target` over a stream.
    Request {
        target: u32,
        requester: u32,
        generation: u64,
        node: NodeId,
        nonce: u64,
        /// The joiner's metadata, as its request carries it.
        extras: Extras,
    },
    /// The answer to a join request reaches the process that asked.
    Answer {
        to: u32,
        generation: u64,
        from: SocketAddr,
        message: Gossip,
    },
    /// The stream of a join request was refused or timed out.
    Unreachable {
        slot: u32,
        generation: u64,
        to: SocketAddr,
        nonce: u64,
    },
    /// A second join exchange after the join window ([`Bootstrap::Sync`]).
    Resync {
        slot: u32,
    },
    /// A datagram arrives.
    Deliver {
        to: u32,
        from: SocketAddr,
        len: u32,
        payload: Payload,
    },
    /// The end of a pause.
    Resume {
        slot: u32,
        generation: u64,
    },
    Tick {
        slot: u32,
        generation: u64,
    },
    /// The end of a leaver's linger: it stops.
    Stop {
        slot: u32,
        generation: u64,
    },
    Act(usize),
    /// Is the cluster one full membership again after a heal?
    HealCheck,
}

/// What every process of a run runs.
enum EngineKind {
    /// A rumor core with the detector registered under this name.
    Rumor(String),
    /// foca, configured so.
    Foca(foca::Config),
}

struct World<'a> {
    seed: u64,
    config: Config,
    engine: EngineKind,
    registry: &'a DetectorRegistry,
    loss: f64,
    loss_changes: u64,
    leave_linger: Duration,
    receive_buffer: usize,
    pauses: u64,
    queue: EventQueue<Step>,
    network: Network,
    slots: Vec<Slot>,
    /// Every node's introducers and seeds.
    introducers: Vec<SocketAddr>,
    plan: Vec<(Duration, Action)>,
    ledger: Ledger,
    heals: Heals,
    heal_check_armed: bool,
    traffic: Traffic,
    drops: Drops,
    notices: NoticeCounts,
    /// The codec checks of [`RunOptions::wire`], when on.
    wire: Option<WireCheck>,
    /// Datagrams handed to the network, and the largest.
    datagrams: DatagramSizes,
    rejoins: u64,
    /// Suspicions raised by processes no longer running.
    suspicions_raised: u64,
    /// Calls refused by processes no longer running.
    engine_errors: u64,
    joins_refused: u64,
    steps: u64,
    now: Time,
    transmits: Vec<Outgoing>,
    events: Vec<Event>,
    /// Whether notices are kept per slot besides being counted.
    record_notices: bool,
    /// What the cluster's builder adds to the nodes (nothing in a plain run).
    setup: NodeSetup,
}
/// What the scenario's processes run. Fails early, with the known names,
/// when the detector is unknown, and with the key that is wrong when the
/// configuration is not valid.
fn engine_kind(
    scenario: &Scenario,
    registry: &DetectorRegistry,
    config: &Config,
) -> Result<EngineKind, SimError> {
    let name = scenario.detector_name();
    if name == foca_node::NAME {
        config
            .validate()
            .map_err(|e| SimError::Membership(e.to_string()))?;
        return Ok(EngineKind::Foca(
            scenario.foca.config(scenario.nodes, config)?,
        ));
    }
    check_detector(registry, name, config)?;
    Ok(EngineKind::Rumor(name.to_owned()))
}

/// Fails early, with the registered names, when the detector is unknown,
/// and with the key that is wrong when the configuration is not valid.
pub(crate) fn check_detector(
    registry: &DetectorRegistry,
    name: &str,
    config: &Config,
) -> Result<(), SimError> {
    if !registry.contains(name) {
        let mut known = registry.names();
        known.push(foca_node::NAME.to_owned());
        return Err(SimError::UnknownDetector {
            name: name.to_owned(),
            known: known.join(", "),
        });
    }
    config
        .validate()
        .map_err(|e| SimError::Membership(e.to_string()))?;
    registry
        .create(name, &DetectorSettings::new(config))
        .map(drop)
        .map_err(|e| SimError::Membership(e.to_string()))
}
impl World<'_> {
    fn step(&mut self, step: Step) {
        // A paused process runs nothing: its datagrams wait in its receive
        // buffer, its join exchanges wait for the resume, its timer waits.
        let paused = match &step {
            Step::Request { target: slot, .. }
            | Step::Answer { to: slot, .. }
            | Step::Unreachable { slot, .. }
            | Step::Resync { slot } => Some(*slot as usize),
            _ => None,
        };
        if let Some(slot) = paused.filter(|&s| self.is_paused(s)) {
            self.defer(slot, step);
            return;
        }
        match step {
            Step::Start { slot } => self.start(slot as usize),
            Step::Request {
                target,
                requester,
                generation,
                node,
                nonce,
                extras,
            } => self.answer_request(
                target as usize,
                (requester as usize, generation),
                Gossip::JoinRequest {
                    node,
                    nonce,
                    extras,
                },
            ),
            Step::Answer {
                to,
                generation,
                from,
                message,
            } => self.take_answer(to as usize, generation, from, message),
            Step::Unreachable {
                slot,
                generation,
                to,
                nonce,
            } => self.request_failed(slot as usize, generation, to, nonce),
            Step::Resync { slot } => self.resync(slot as usize),
            Step::Deliver {
                to,
                from,
                len,
                payload,
            } => self.deliver(to as usize, from, payload, len as usize),
            Step::Resume { slot, generation } => self.resume(slot as usize, generation),
            Step::Tick { slot, generation } => {
                let now = self.now;
                let s = &mut self.slots[slot as usize];
                if s.generation != generation || s.tick_at != Some(now) {
                    return; // superseded by a re-armed timer or a new process
                }
                s.tick_at = None;
                if s.paused.is_some() {
                    return; // re-armed at the resume
                }
                if let Some(p) = &mut s.process {
                    p.core.tick(now);
                    self.flush(slot as usize, true);
                }
            }
            Step::Stop { slot, generation } => {
                if self.slots[slot as usize].generation == generation {
                    self.stop(slot as usize);
                }
            }
            Step::Act(i) => {
                let action = self.plan[i].1.clone();
                self.act(action);
            }
            Step::HealCheck => self.check_heal(),
        }
    }

    fn slot_of(&self, addr: SocketAddr) -> Option<usize> {
        match addr {
            SocketAddr::V4(v4) if v4.port() == PORT => {
                let slot = u32::from(*v4.ip()).checked_sub(BASE_IP)? as usize;
                (slot < self.slots.len()).then_some(slot)
            }
            _ => None,
        }
    }

    /// Starts a new process in `slot` (which must be empty) and, unless it
    /// founds the cluster, has its core join through the introducers.
    fn start(&mut self, slot: usize) {
        if !self.spawn(slot) {
            return;
        }
        let founder = slot == 0 && self.slots[0].generation == 1;
        if !founder {
            let now = self.now;
            let introducers = self.introducers.clone();
            if let Some(p) = &mut self.slots[slot].process {
                p.core.join(now, introducers);
            }
        }
        self.flush(slot, false);
    }

    /// Creates the process of `slot` under a new version, its seeds set
    /// (the caller flushes it); false when one runs there already.
    fn spawn(&mut self, slot: usize) -> bool {
        let now = self.now;
        let s = &mut self.slots[slot];
        if s.process.is_some() {
            return false;
        }
        let now_ms = VERSION_EPOCH_MS + now.as_millis() as u64;
        s.version = (s.version + 1).max(now_ms);
        s.generation += 1;
        s.last_request = None;
        let id = NodeId::new(s.addr, Version(s.version));
        let core_seed = derive_seed(
            derive_seed(self.seed, stream::CORE, slot as u64),
            0,
            s.generation,
        );
        let drop_seed = derive_seed(
            derive_seed(self.seed, stream::RECEIVER_DROP, slot as u64),
            self.loss_changes,
            s.generation,
        );
        let core = match &self.engine {
            EngineKind::Rumor(detector) => {
                let detector = self
                    .registry
                    .create(detector, &DetectorSettings::new(&self.config))
                    .expect("the detector was created once at the start of the run");
                let mut builder = Membership::builder(id, detector)
                    .config(self.config.clone())
                    .seed(core_seed);
                if let Some(metadata) = self.setup.metadata.get(&slot) {
                    builder = builder.metadata(metadata.clone());
                }
                let mut core = builder
                    .start(now)
                    .expect("the configuration and metadata were checked at the start of the run");
                // The agent's --join list: where to go back to when the view collapses.
                core.set_seeds(self.introducers.clone());
                for call in &self.setup.calls {
                    call(slot, &mut core, now);
                }
                Engine::Rumor(Box::new(core))
            }
            EngineKind::Foca(config) => {
                Engine::Foca(Box::new(FocaNode::new(id, config.clone(), core_seed, now)))
            }
        };
        s.process = Some(Process {
            id,
            core,
            drop: ReceiverDrop::new(self.loss, drop_seed),
            rejoins: 0,
        });
        self.ledger.on_start(id, now);
        self.traffic.on_start(slot, now);
        true
    }
    /// Stops the process in `slot` without a word; returns its id.
    fn stop(&mut self, slot: usize) -> Option<NodeId> {
        let s = &mut self.slots[slot];
        let p = s.process.take()?;
        self.suspicions_raised += p.core.suspicions_raised();
        self.engine_errors += p.core.errors();
        s.generation += 1;
        s.tick_at = None;
        s.last_request = None;
        s.paused = None;
        self.traffic.on_stop(slot, self.now);
        Some(p.id)
    }
}
