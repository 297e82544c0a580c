//! A small deterministic lock-step harness: in-memory nodes on a virtual
//! clock, messages through the real codec with a fixed latency, and
//! receiver-side loss through `ReceiverDrop`.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::Duration;

use rumor_membership::{
    Channel, Config, DetectorRegistry, Event, EventKind, Gossip, Membership, Message, NodeId,
    ReceiverDrop, Time, Version,
};
use rumor_wire::{Envelope, decode_datagram, encode_datagram};

pub const LATENCY: Duration = Duration::from_millis(1);

pub fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4000 + i as u16))
}

/// What travels: a datagram (may be dropped), a stream answer (never
/// dropped), or the news that a request found nobody.
enum InFlight {
    Datagram(SocketAddr, Vec<u8>),
    Answer(SocketAddr, Gossip),
    Unreachable(SocketAddr),
    /// A paused node runs again: a (late) tick.
    Resume,
}

pub struct Node {
    pub core: Membership,
    pub drop: ReceiverDrop,
    pub crashed: bool,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub now: Time,
    pub events: Vec<Event>,
    pub config: Config,
    pub registry: DetectorRegistry,
    pub detector: String,
    pub drop_rate: f64,
    seed: u64,
    seq: u64,
    in_flight: BinaryHeap<Reverse<(Time, u64, usize)>>,
    /// (deadline, node): every poll_timeout a node announced; stale entries
    /// are skipped when popped.
    timers: BinaryHeap<Reverse<(Time, usize)>>,
    payloads: BTreeMap<u64, InFlight>,
    pub largest_datagram: usize,
    pub datagrams: u64,
    /// (from, to) pairs whose messages are all lost.
    pub blocked: Vec<(usize, usize)>,
    /// Whether `joined` events are kept in `events` (large clusters skip
    /// them: n² of them).
    pub keep_joined: bool,
    /// Until when each node is paused (stopped: neither ticks nor reads;
    /// what arrives meanwhile waits in its socket buffer).
    pub paused_until: Vec<Time>,
    buf: Vec<u8>,
}

impl Cluster {
    /// `n` nodes, node 0 the introducer, every other node joined through it
    /// at 10 ms intervals.
    pub fn new(n: usize, detector: &str, drop_rate: f64, seed: u64) -> Cluster {
        Cluster::with_config(n, detector, drop_rate, seed, Config::default())
    }

    pub fn with_config(
        n: usize,
        detector: &str,
        drop_rate: f64,
        seed: u64,
        config: Config,
    ) -> Cluster {
        Cluster::with_registry(
            n,
            detector,
            drop_rate,
            seed,
            config,
            DetectorRegistry::with_builtins(),
        )
    }

    pub fn with_registry(
        n: usize,
        detector: &str,
        drop_rate: f64,
        seed: u64,
        config: Config,
        registry: DetectorRegistry,
    ) -> Cluster {
        let mut cluster = Cluster {
            nodes: Vec::new(),
            now: Time::ZERO,
            events: Vec::new(),
            buf: vec![0; config.datagram_limit],
            config,
            registry,
            detector: detector.to_string(),
            drop_rate,
            seed,
            seq: 0,
            in_flight: BinaryHeap::new(),
            timers: BinaryHeap::new(),
            payloads: BTreeMap::new(),
            largest_datagram: 0,
            datagrams: 0,
            blocked: Vec::new(),
            keep_joined: true,
            paused_until: Vec::new(),
        };
        for i in 0..n {
            cluster.spawn(i, 1);
            if i > 0 {
                cluster.join(i, 0);
                let until = cluster.now + Duration::from_millis(10);
                cluster.run_until(until);
            }
        }
        cluster
    }

    /// `n` nodes that all start knowing each other (as if each had received
    /// a join response listing everyone): cheap set-up for large clusters.
    pub fn bootstrapped(n: usize, detector: &str, drop_rate: f64, seed: u64) -> Cluster {
        let mut cluster = Cluster::with_registry(
            0,
            detector,
            drop_rate,
            seed,
            Config::default(),
            DetectorRegistry::with_builtins(),
        );
        cluster.keep_joined = n <= 1000;
        for i in 0..n {
            cluster.spawn(i, 1);
        }
        let everyone: Vec<rumor_membership::MemberUpdate> = (0..n)
            .map(|i| rumor_membership::MemberUpdate {
                node: cluster.id(i),
                state: rumor_membership::MemberState::Alive,
                incarnation: rumor_membership::Incarnation(0),
            })
            .collect();
        for i in 0..n {
            // Node 0 hears the list from node 1, everyone else from node 0.
            let introducer = usize::from(i == 0);
            if introducer >= n {
                continue;
            }
            let core = &mut cluster.nodes[i].core;
            core.join(cluster.now, vec![addr(introducer)]);
            let nonce = std::iter::from_fn(|| core.poll_message())
                .find_map(|t| match t.message {
                    Gossip::JoinRequest { nonce, .. } => Some(nonce),
                    _ => None,
                })
                .expect("a join request");
            let response = Gossip::JoinResponse {
                introducer: cluster.id(introducer),
                nonce,
                members: everyone.clone(),
                extras: Default::default(),
            };
            cluster.nodes[i]
                .core
                .handle(cluster.now, addr(introducer), response);
            cluster.drain(i);
        }
        cluster
    }

    pub fn id(&self, i: usize) -> NodeId {
        self.nodes[i].core.id()
    }

    /// Starts node `i` (a new process) with `version`.
    pub fn spawn(&mut self, i: usize, version: u64) {
        let me = NodeId::new(addr(i), Version(version));
        let detector = self
            .registry
            .create(
                &self.detector,
                &rumor_membership::DetectorSettings::new(&self.config),
            )
            .expect("test detector is registered");
        let seed = self
            .seed
            .wrapping_mul(1000)
            .wrapping_add(i as u64 * 7 + version);
        let node = Node {
            core: Membership::new(me, self.config.clone(), detector, seed, self.now)
                .expect("a valid configuration"),
            drop: ReceiverDrop::new(self.drop_rate, seed ^ 0x5eed),
            crashed: false,
        };
        if i < self.nodes.len() {
            self.nodes[i] = node;
        } else {
            assert_eq!(i, self.nodes.len(), "spawn nodes in order");
            self.nodes.push(node);
            self.paused_until.push(Time::ZERO);
        }
        self.drain(i);
    }

    /// Node `i` joins through `introducer` (the stream exchange is
    /// lossless and takes two latencies).
    pub fn join(&mut self, i: usize, introducer: usize) {
        self.nodes[i].core.join(self.now, vec![addr(introducer)]);
        self.drain(i);
    }

    /// Stops node `i` for `span` (SIGSTOP, a GC pause): it neither ticks
    /// nor reads; what it is sent meanwhile waits and is read when it runs
    /// again, as from a socket buffer.
    pub fn pause(&mut self, i: usize, span: Duration) {
        let until = self.now + span;
        self.paused_until[i] = until;
        self.in_flight(until, i, InFlight::Resume);
    }

    pub fn crash(&mut self, i: usize) {
        self.nodes[i].crashed = true;
    }

    pub fn leave(&mut self, i: usize) {
        self.nodes[i].core.leave(self.now);
        self.drain(i);
    }

    fn drain(&mut self, i: usize) {
        if self.nodes[i].crashed {
            return;
        }
        if let Some(at) = self.nodes[i].core.poll_timeout() {
            self.timers.push(Reverse((at, i)));
        }
        while let Some(event) = self.nodes[i].core.poll_event() {
            if self.keep_joined || event.kind != EventKind::Joined {
                self.events.push(event);
            }
        }
        while let Some(transmit) = self.nodes[i].core.poll_message() {
            if transmit.channel == Channel::Request {
                self.request(i, transmit.to, transmit.message);
                continue;
            }
            let envelope = Envelope::new(addr(i), transmit.message);
            let limit = self.config.datagram_limit;
            let len = match encode_datagram(&envelope, &mut self.buf, limit) {
                Ok(len) => len,
                Err(e) => panic!(
                    "node {i} produced a {} message over the {limit}-byte limit: {e}",
                    envelope.body.kind()
                ),
            };
            self.largest_datagram = self.largest_datagram.max(len);
            self.datagrams += 1;
            let Some(to) = self.index_of(transmit.to) else {
                continue;
            };
            if self.blocked.contains(&(i, to)) {
                continue;
            }
            let payload = InFlight::Datagram(addr(i), self.buf[..len].to_vec());
            self.in_flight(self.now + LATENCY, to, payload);
        }
    }

    fn in_flight(&mut self, at: Time, to: usize, payload: InFlight) {
        self.seq += 1;
        self.payloads.insert(self.seq, payload);
        self.in_flight.push(Reverse((at, self.seq, to)));
    }

    /// A request over a stream from node `i`: the target answers at once,
    /// and the answer arrives two latencies later; a crashed or cut-off
    /// target is reported unreachable.
    fn request(&mut self, i: usize, to: SocketAddr, message: Gossip) {
        let target = self
            .index_of(to)
            .filter(|&t| !self.nodes[t].crashed && !self.blocked.contains(&(i, t)));
        let (Some(t), Gossip::JoinRequest { .. }) = (target, &message) else {
            self.in_flight(self.now + LATENCY, i, InFlight::Unreachable(to));
            return;
        };
        let answer = self.nodes[t]
            .core
            .handle_request(self.now + LATENCY, message)
            .expect("a join request is answered");
        self.drain(t);
        let back = if self.blocked.contains(&(t, i)) {
            InFlight::Unreachable(to)
        } else {
            InFlight::Answer(to, answer)
        };
        self.in_flight(self.now + 2 * LATENCY, i, back);
    }

    fn index_of(&self, to: SocketAddr) -> Option<usize> {
        let port = to.port().checked_sub(4000)? as usize;
        (port < self.nodes.len()).then_some(port)
    }

    /// Whether a popped timer entry is still the node's current deadline.
    fn timer_current(&self, at: Time, i: usize) -> bool {
        !self.nodes[i].crashed && self.nodes[i].core.poll_timeout() == Some(at)
    }

    /// Runs the cluster to virtual time `until`.
    pub fn run_until(&mut self, until: Time) {
        loop {
            while let Some(Reverse((at, i))) = self.timers.peek().copied() {
                if self.timer_current(at, i) {
                    break;
                }
                self.timers.pop();
            }
            let next_message = self.in_flight.peek().map(|Reverse((at, _, _))| *at);
            let next_timer = self.timers.peek().map(|Reverse((at, _))| *at);
            let Some(next) = [next_message, next_timer].into_iter().flatten().min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            while let Some(Reverse((at, seq, to))) = self.in_flight.peek().copied() {
                if at > self.now {
                    break;
                }
                self.in_flight.pop();
                let payload = self.payloads.remove(&seq).expect("payload stored");
                if self.now < self.paused_until[to] && !matches!(payload, InFlight::Resume) {
                    let until = self.paused_until[to];
                    self.in_flight(until, to, payload);
                    continue;
                }
                let node = &mut self.nodes[to];
                if node.crashed {
                    continue;
                }
                match payload {
                    InFlight::Datagram(from, bytes) => {
                        if !node.drop.admit() {
                            continue;
                        }
                        let envelope = decode_datagram(&bytes, self.config.datagram_limit)
                            .expect("own encoding decodes");
                        assert_eq!(envelope.from, from);
                        let Message::Gossip(message) = envelope.body else {
                            panic!("a core sent a non-gossip datagram: {:?}", envelope.body);
                        };
                        node.core.handle(self.now, from, message);
                    }
                    InFlight::Answer(from, message) => node.core.handle(self.now, from, message),
                    InFlight::Unreachable(target) => node.core.handle_unreachable(self.now, target),
                    InFlight::Resume => node.core.tick(self.now),
                }
                self.drain(to);
            }
            while let Some(Reverse((at, i))) = self.timers.peek().copied() {
                if at > self.now {
                    break;
                }
                self.timers.pop();
                if self.now < self.paused_until[i] {
                    continue;
                }
                if self.timer_current(at, i) {
                    self.nodes[i].core.tick(self.now);
                    self.drain(i);
                }
            }
        }
        self.now = until;
    }

    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        self.run_until(until);
    }

    /// Delivers a raw message to node `i`, as if from `from`.
    pub fn inject(&mut self, i: usize, from: SocketAddr, message: Gossip) {
        self.nodes[i].core.handle(self.now, from, message);
        self.drain(i);
    }

    pub fn events_of(&self, kind: EventKind, member: NodeId) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.kind == kind && e.member == member)
            .collect()
    }

    /// Failed events about members that were alive (not crashed, not left)
    /// at the end: false positives.
    pub fn false_positives(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.kind == EventKind::Failed)
            .filter(|e| {
                self.nodes
                    .iter()
                    .any(|n| !n.crashed && n.core.id() == e.member && !n.core.has_left())
            })
            .collect()
    }

    pub fn live_indexes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].crashed && !self.nodes[i].core.has_left())
            .collect()
    }
}
