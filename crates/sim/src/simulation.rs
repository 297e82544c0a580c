//! The discrete-event driver: many membership cores on one virtual clock.
//!
//! Each node is a slot with a fixed listening address; a slot runs one
//! process at a time (a [`Membership`] core behind a [`ReceiverDrop`]), and a
//! restart puts a new process with a higher version in the same slot. The
//! agenda holds deliveries, timers, join exchanges and scenario actions; the
//! loop pops the earliest, hands it to the core it concerns, then drains that
//! core's transmits (through the [`Network`]) and events (into the ledger)
//! and re-arms its timer from `poll_timeout`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use rumor_membership::{
    Config, DetectorRegistry, Event, Incarnation, MemberState, MemberUpdate, Membership, Message,
    NodeId, ReceiverDrop, Time, Transmit, Version,
};
use rumor_wire::{Envelope, encoded_len};

use crate::SimError;
use crate::event_queue::EventQueue;
use crate::ledger::Ledger;
use crate::network::{Cut, Network, SlotSet};
use crate::report::{Drops, RunReport, secs};
use crate::rng::{DetRng, derive_seed, stream};
use crate::scenario::{Action, Bootstrap, Scenario};
use crate::traffic::Traffic;

/// Node `i` listens on `10.0.0.0 + i + 1`, port [`PORT`].
const BASE_IP: u32 = 0x0A00_0001;
/// The port every simulated node listens on.
pub const PORT: u16 = 4000;
/// Versions look like Unix milliseconds, as the daemon's do: this epoch plus
/// the virtual time a process starts.
pub(crate) const VERSION_EPOCH_MS: u64 = 1_763_900_000_000;
/// A join whose introducer could not be reached is retried after this long.
const JOIN_RETRY: Duration = Duration::from_secs(1);
/// A timer the core asks for at or before the instant it just ticked at is
/// pushed this far ahead, so a core that never advances its deadline cannot
/// stall the clock.
const MIN_TICK_STEP: Duration = Duration::from_millis(1);

/// The listening address of slot `slot`.
pub fn slot_addr(slot: usize) -> SocketAddr {
    let ip = Ipv4Addr::from(BASE_IP + slot as u32);
    SocketAddr::V4(SocketAddrV4::new(ip, PORT))
}

/// What a run gives back besides its report.
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

/// Knobs of one run that are not part of the scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep every event (memory grows with n²: for small clusters).
    pub record_events: bool,
    /// Keep every live node's final member list.
    pub record_members: bool,
    /// Measure wall-clock time (leave off for byte-identical output).
    pub wall_time: bool,
}

struct Process {
    id: NodeId,
    core: Membership,
    drop: ReceiverDrop,
}

struct Slot {
    addr: SocketAddr,
    /// The version of the latest process started here (0: never started).
    version: u64,
    /// Bumped whenever the process changes; stale timers and join exchanges
    /// carry the old value and are ignored.
    generation: u64,
    process: Option<Process>,
    /// The tick currently armed on the agenda, if any.
    tick_at: Option<Time>,
}

enum Step {
    Start {
        slot: u32,
    },
    JoinRequest {
        introducer: u32,
        joiner: NodeId,
        joiner_slot: u32,
        generation: u64,
    },
    JoinRetry {
        slot: u32,
        generation: u64,
    },
    /// A second join exchange after the join window ([`Bootstrap::Sync`]).
    Resync {
        slot: u32,
    },
    Deliver {
        to: u32,
        from: SocketAddr,
        message: Message,
        datagram: bool,
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
}

struct World<'a> {
    seed: u64,
    config: Config,
    registry: &'a DetectorRegistry,
    loss: f64,
    loss_changes: u64,
    leave_linger: Duration,
    queue: EventQueue<Step>,
    network: Network,
    slots: Vec<Slot>,
    plan: Vec<(Duration, Action)>,
    ledger: Ledger,
    traffic: Traffic,
    drops: Drops,
    rejoins: u64,
    joins_refused: u64,
    steps: u64,
    now: Time,
    transmits: Vec<Transmit>,
}

/// Runs `scenario` once with `seed`, creating detectors from `registry`.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    registry: &DetectorRegistry,
    options: RunOptions,
) -> Result<RunOutcome, SimError> {
    scenario.validate()?;
    let config = scenario.membership_config();
    check_detector(registry, &config)?;
    let started = Instant::now();
    let n = scenario.nodes;
    let window_start = scenario.warmup.min(scenario.duration);
    let mut world = World {
        seed,
        registry,
        loss: scenario.loss,
        loss_changes: 0,
        leave_linger: scenario.leave_linger,
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
            })
            .collect(),
        plan: scenario.plan(seed),
        ledger: Ledger::new(n, options.record_events),
        traffic: Traffic::new(n, window_start),
        drops: Drops::default(),
        rejoins: 0,
        joins_refused: 0,
        steps: 0,
        now: Duration::ZERO,
        transmits: Vec::new(),
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
            world
                .queue
                .push(Duration::from_nanos(at), Step::Start { slot: slot as u32 });
        }
    }
    if scenario.bootstrap == Bootstrap::Sync {
        // Spread over 100 ms so the introducer is not asked N times at one instant.
        let spread = 100_000_000u64;
        for slot in 1..n {
            let at = scenario.join_window + Duration::from_nanos(join_rng.below(spread));
            world.queue.push(at, Step::Resync { slot: slot as u32 });
        }
    }
    for (i, (at, _)) in world.plan.iter().enumerate() {
        world.queue.push(*at, Step::Act(i));
    }
    let end = scenario.duration;
    while world.queue.peek_time().is_some_and(|t| t <= end) {
        let (at, step) = world.queue.pop().expect("peek_time just saw a step");
        world.now = at;
        world.steps += 1;
        world.step(step);
    }
    world.now = end;
    let members = if options.record_members {
        world
            .slots
            .iter()
            .filter_map(|s| s.process.as_ref())
            .map(|p| (p.id, p.core.members()))
            .collect()
    } else {
        Vec::new()
    };
    let rates = world.traffic.finish(end);
    let counts = world.ledger.counts;
    let report = RunReport {
        seed,
        crashes: world.ledger.crash_outcomes(),
        leaves: world.ledger.leave_outcomes(),
        false_positives: world.ledger.false_positives(),
        false_positive_marks: world.ledger.false_positive_marks(),
        left_marked_failed: world.ledger.left_marked_failed(),
        full_view_s: world.ledger.full_view_at().map(secs),
        messages_per_node_s: rates.messages_per_node_s,
        bytes_per_node_s: rates.bytes_per_node_s,
        max_bytes_per_node_s: rates.max_bytes_per_node_s,
        suspicions: counts.suspected,
        refutations: counts.alive,
        joined_events: counts.joined,
        removed_events: counts.removed,
        spurious_left: counts.spurious_left,
        unknown_member_events: counts.unknown_member,
        rejoins: world.rejoins,
        joins_refused: world.joins_refused,
        drops: world.drops.clone(),
        steps: world.steps,
        wall_time_s: options.wall_time.then(|| started.elapsed().as_secs_f64()),
    };
    Ok(RunOutcome {
        report,
        events: world.ledger.take_events(),
        members,
    })
}

/// Fails early, with the registered names, when the detector is unknown.
fn check_detector(registry: &DetectorRegistry, config: &Config) -> Result<(), SimError> {
    let names = registry.names();
    if !names.iter().any(|n| n == &config.detector) {
        return Err(SimError::UnknownDetector {
            name: config.detector.clone(),
            known: names.join(", "),
        });
    }
    registry
        .create(&config.detector, config)
        .map(drop)
        .map_err(|e| SimError::Membership(e.to_string()))
}

impl World<'_> {
    fn step(&mut self, step: Step) {
        match step {
            Step::Start { slot } => self.start(slot as usize),
            Step::JoinRequest {
                introducer,
                joiner,
                joiner_slot,
                generation,
            } => self.join_request(
                introducer as usize,
                joiner,
                joiner_slot as usize,
                generation,
            ),
            Step::JoinRetry { slot, generation } => {
                let s = &self.slots[slot as usize];
                if s.generation == generation && s.process.is_some() {
                    self.send_join(slot as usize);
                }
            }
            Step::Resync { slot } => {
                if self.slots[slot as usize].process.is_some() {
                    self.send_join(slot as usize);
                }
            }
            Step::Deliver {
                to,
                from,
                message,
                datagram,
            } => self.deliver(to as usize, from, message, datagram),
            Step::Tick { slot, generation } => {
                let now = self.now;
                let s = &mut self.slots[slot as usize];
                if s.generation != generation || s.tick_at != Some(now) {
                    return; // superseded by a re-armed timer or a new process
                }
                s.tick_at = None;
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
    /// founds the cluster, sends its join request.
    fn start(&mut self, slot: usize) {
        if !self.spawn(slot) {
            return;
        }
        let founder = slot == 0 && self.slots[0].generation == 1;
        if !founder {
            self.send_join(slot);
        }
    }

    /// [`Bootstrap::Converged`]: every node starts now already listing
    /// every node alive, without any message on the network. A prototype of
    /// node 0 (not itself a node of the run) applies a join response
    /// naming everyone; every node then adopts a copy of its member list,
    /// one memory copy per node where n join responses of n members would
    /// take n² lookups. Nothing is news, so the bootstrap records no
    /// `joined` events; the ledger counts the full view reached now.
    fn form_converged(&mut self) {
        for slot in 0..self.slots.len() {
            self.spawn(slot);
        }
        let ids: Vec<NodeId> = self
            .slots
            .iter()
            .filter_map(|s| s.process.as_ref().map(|p| p.id))
            .collect();
        let Some(&founder) = ids.first() else {
            return;
        };
        let now = self.now;
        let detector = self
            .registry
            .create(&self.config.detector, &self.config)
            .expect("the detector was created once at the start of the run");
        let mut prototype = Membership::new(
            founder,
            self.config.clone(),
            detector,
            derive_seed(self.seed, stream::CORE, u64::MAX),
            now,
        );
        let members = ids
            .iter()
            .map(|&node| MemberUpdate {
                node,
                state: MemberState::Alive,
                incarnation: Incarnation(0),
            })
            .collect();
        prototype.handle(
            now,
            founder.addr,
            Message::JoinResponse {
                introducer: founder,
                members,
            },
        );
        for slot in 0..self.slots.len() {
            if let Some(p) = &mut self.slots[slot].process {
                let adopted = p.core.adopt_view(now, &prototype);
                assert!(
                    adopted,
                    "a fresh node listed alive by the prototype adopts its view"
                );
                self.flush(slot, false);
            }
        }
        self.ledger.on_converged(now);
    }

    /// Creates the process of `slot` under a new version; false when one
    /// runs there already.
    fn spawn(&mut self, slot: usize) -> bool {
        let now = self.now;
        let s = &mut self.slots[slot];
        if s.process.is_some() {
            return false;
        }
        let now_ms = VERSION_EPOCH_MS + now.as_millis() as u64;
        s.version = (s.version + 1).max(now_ms);
        s.generation += 1;
        let id = NodeId::new(s.addr, Version(s.version));
        let detector = self
            .registry
            .create(&self.config.detector, &self.config)
            .expect("the detector was created once at the start of the run");
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
        s.process = Some(Process {
            id,
            core: Membership::new(id, self.config.clone(), detector, core_seed, now),
            drop: ReceiverDrop::new(self.loss, drop_seed),
        });
        self.ledger.on_start(id, now);
        self.traffic.on_start(slot, now);
        self.flush(slot, false);
        true
    }

    /// The node an introducer-less process asks: node 0 if it runs, else the
    /// lowest-numbered running node.
    fn introducer_for(&self, joiner: usize) -> Option<usize> {
        std::iter::once(0)
            .chain(0..self.slots.len())
            .find(|&s| s != joiner && self.slots[s].process.is_some())
    }

    fn send_join(&mut self, slot: usize) {
        let Some(joiner) = self.slots[slot].process.as_ref().map(|p| p.id) else {
            return;
        };
        let generation = self.slots[slot].generation;
        let Some(introducer) = self.introducer_for(slot) else {
            return; // nobody to join: this node is a cluster of its own
        };
        match self.network.stream(slot, introducer) {
            Ok(delay) => self.queue.push(
                self.now + delay,
                Step::JoinRequest {
                    introducer: introducer as u32,
                    joiner,
                    joiner_slot: slot as u32,
                    generation,
                },
            ),
            Err(_) => self.queue.push(
                self.now + JOIN_RETRY,
                Step::JoinRetry {
                    slot: slot as u32,
                    generation,
                },
            ),
        }
    }

    fn join_request(
        &mut self,
        introducer: usize,
        joiner: NodeId,
        joiner_slot: usize,
        generation: u64,
    ) {
        let now = self.now;
        let retry = Step::JoinRetry {
            slot: joiner_slot as u32,
            generation,
        };
        let Some(p) = &mut self.slots[introducer].process else {
            // Connection refused: the joiner tries again (maybe elsewhere).
            self.queue.push(now + JOIN_RETRY, retry);
            return;
        };
        let answer = p.core.handle_join_request(now, joiner);
        let from = p.id.addr;
        self.flush(introducer, false);
        let envelope = Envelope::new(from, answer);
        if self.traffic.counting(now) {
            self.traffic.on_send(introducer, encoded_len(&envelope));
        }
        match self.network.stream(introducer, joiner_slot) {
            Ok(delay) => self.queue.push(
                now + delay,
                Step::Deliver {
                    to: joiner_slot as u32,
                    from,
                    message: envelope.body,
                    datagram: false,
                },
            ),
            Err(_) => self.queue.push(now + JOIN_RETRY, retry),
        }
    }

    fn deliver(&mut self, to: usize, from: SocketAddr, message: Message, datagram: bool) {
        let Some(p) = &mut self.slots[to].process else {
            self.drops.node_down += 1;
            return;
        };
        if datagram && !p.drop.admit() {
            self.drops.receiver += 1;
            return;
        }
        if matches!(message, Message::JoinRefused { .. }) {
            self.joins_refused += 1;
        }
        p.core.handle(self.now, from, message);
        self.flush(to, false);
    }

    /// Drains the core in `slot`: transmits into the network, events into the
    /// ledger; rejoins if the node learned it was declared failed; re-arms
    /// its timer.
    fn flush(&mut self, slot: usize, ticked: bool) {
        let now = self.now;
        let mut transmits = std::mem::take(&mut self.transmits);
        let Some(p) = &mut self.slots[slot].process else {
            self.transmits = transmits;
            return;
        };
        while let Some(t) = p.core.poll_transmit() {
            transmits.push(t);
        }
        while let Some(event) = p.core.poll_event() {
            self.ledger.on_event(event);
        }
        let from = p.id.addr;
        let must_rejoin = p.core.must_rejoin();
        let deadline = p.core.poll_timeout();
        for t in transmits.drain(..) {
            self.send(slot, from, t);
        }
        self.transmits = transmits;
        if must_rejoin {
            let id = self.stop(slot);
            if let Some(id) = id {
                self.ledger.on_retire(id);
            }
            self.rejoins += 1;
            self.queue.push(now, Step::Start { slot: slot as u32 });
            return;
        }
        let s = &mut self.slots[slot];
        match deadline {
            Some(d) => {
                let d = if ticked && d <= now {
                    now + MIN_TICK_STEP
                } else {
                    d.max(now)
                };
                if s.tick_at != Some(d) {
                    s.tick_at = Some(d);
                    self.queue.push(
                        d,
                        Step::Tick {
                            slot: slot as u32,
                            generation: s.generation,
                        },
                    );
                }
            }
            None => s.tick_at = None,
        }
    }

    fn send(&mut self, src: usize, from: SocketAddr, transmit: Transmit) {
        let Some(dst) = self.slot_of(transmit.to) else {
            self.drops.unroutable += 1;
            return;
        };
        // Join answers and leaves travel over TCP in the daemon.
        let datagram = !matches!(
            transmit.message,
            Message::Leave { .. } | Message::JoinResponse { .. } | Message::JoinRefused { .. }
        );
        let envelope = Envelope::new(from, transmit.message);
        let counting = self.traffic.counting(self.now);
        if datagram || counting {
            let bytes = encoded_len(&envelope);
            if datagram && bytes > self.config.datagram_limit {
                self.drops.oversized += 1;
                return;
            }
            if counting {
                self.traffic.on_send(src, bytes);
            }
        }
        let fate = if datagram {
            self.network.datagram(src, dst)
        } else {
            self.network.stream(src, dst)
        };
        match fate {
            Ok(delay) => self.queue.push(
                self.now + delay,
                Step::Deliver {
                    to: dst as u32,
                    from,
                    message: envelope.body,
                    datagram,
                },
            ),
            Err(Cut::Lost) => self.drops.in_transit += 1,
            Err(Cut::Partitioned) => self.drops.partitioned += 1,
        }
    }

    /// Stops the process in `slot` without a word; returns its id.
    fn stop(&mut self, slot: usize) -> Option<NodeId> {
        let s = &mut self.slots[slot];
        let p = s.process.take()?;
        s.generation += 1;
        s.tick_at = None;
        self.traffic.on_stop(slot, self.now);
        Some(p.id)
    }

    fn act(&mut self, action: Action) {
        let now = self.now;
        let n = self.slots.len();
        match action {
            Action::Crash(slots) => {
                for slot in slots {
                    if let Some(id) = self.stop(slot) {
                        self.ledger.on_crash(slot, id, now);
                    }
                }
            }
            Action::Restart(slots) => {
                let slots = if slots.is_empty() {
                    (0..n)
                        .filter(|&s| self.slots[s].process.is_none() && self.slots[s].version > 0)
                        .collect()
                } else {
                    slots
                };
                for slot in slots {
                    if let Some(id) = self.stop(slot) {
                        self.ledger.on_crash(slot, id, now);
                    }
                    self.start(slot);
                }
            }
            Action::Leave(slots) => {
                for slot in slots {
                    let Some(p) = &mut self.slots[slot].process else {
                        continue;
                    };
                    let id = p.id;
                    self.ledger.on_leave(slot, id, now);
                    p.core.leave(now);
                    self.flush(slot, false);
                    // It keeps running a little, as an agent does, so the
                    // core can finish gossiping its departure.
                    let generation = self.slots[slot].generation;
                    self.queue.push(
                        now + self.leave_linger,
                        Step::Stop {
                            slot: slot as u32,
                            generation,
                        },
                    );
                }
            }
            Action::Partition { from, to, one_way } => {
                let from = SlotSet::new(n, from);
                let to = match to {
                    Some(to) => SlotSet::new(n, to),
                    None => from.complement(n),
                };
                self.network.partition(from, to, one_way);
            }
            Action::Heal => self.network.heal(),
            Action::SetLoss { receiver, network } => {
                if let Some(loss) = network {
                    self.network.set_loss(loss);
                }
                if let Some(loss) = receiver {
                    self.loss = loss;
                    self.loss_changes += 1;
                    for (slot, s) in self.slots.iter_mut().enumerate() {
                        if let Some(p) = &mut s.process {
                            let seed = derive_seed(
                                derive_seed(self.seed, stream::RECEIVER_DROP, slot as u64),
                                self.loss_changes,
                                s.generation,
                            );
                            p.drop = ReceiverDrop::new(loss, seed);
                        }
                    }
                }
            }
        }
    }
}
