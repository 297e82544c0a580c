//! What the fuzz targets and the corpus capture (`examples/capture.rs`)
//! share: the identities, key and clocks both sides must agree on, so that
//! traffic captured from real agents reaches deep into a target instead of
//! being refused at its first check, and a harness that drives a live
//! membership core the way the agent does, checking the invariants the
//! core's property tests check.
//!
//! Input layouts are described in each target; every one begins with a
//! selector byte whose low two bits pick one [`SETUPS`] entry.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rumor_membership::{
    Channel, Config, DetectorRegistry, DetectorSettings, EventKind, Gossip, Incarnation,
    MemberState, MemberUpdate, Membership, Message, NodeId, Time, Version,
};
use rumor_seal::{Key, Keyring, Sealer, SealerConfig};
use rumor_wire::Envelope;

/// The port every captured agent listens on.
pub const PORT: u16 = 7946;

/// One captured cluster: its detector, the third octet of its loopback
/// addresses (agents at `.1`, `.2`, `.3`, the pseudo member at
/// [`SPY_HOST`]), and whether it runs with the keyring of [`fuzz_key`].
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// The detector every agent of the cluster runs.
    pub detector: &'static str,
    /// Third octet of the cluster's loopback addresses.
    pub net: u8,
    /// Whether the cluster seals with [`fuzz_key`].
    pub keyed: bool,
}

/// The clusters the capture runs and the targets stand in. A selector's low
/// two bits index this table: a fuzzed core is the pseudo member of that
/// cluster, so captured traffic about the pseudo member is about the core.
pub const SETUPS: [Setup; 4] = [
    Setup {
        detector: "gossip",
        net: 77,
        keyed: false,
    },
    Setup {
        detector: "swim",
        net: 78,
        keyed: false,
    },
    Setup {
        detector: "phi",
        net: 79,
        keyed: false,
    },
    Setup {
        detector: "gossip",
        net: 80,
        keyed: true,
    },
];

/// The pseudo member's host octet in each cluster.
pub const SPY_HOST: u8 = 250;

/// The pseudo member's version: a fixed join time (2023-11-14) that the
/// agents accept (it is not ahead of their clocks) and the targets can name.
pub const SPY_VERSION: u64 = 1_700_000_000_000;

/// The Unix time (ms) a fuzzed core's clock reads once started
/// (2100-01-01): a version is plausible up to two days past a core's clock,
/// so versions from any capture before then are believed, as a live agent
/// believes its peers' join times.
pub const CORE_CLOCK_MS: u64 = 4_102_444_800_000;

/// The Unix time (ms) the sealing targets open packets at, whatever the
/// system clock says, so that a run replays from its input.
pub const FIXED_NOW_MS: u64 = 1_763_900_000_000;

/// The cluster label of every sealer here: the agents' default.
pub const LABEL: &str = rumor_seal::DEFAULT_LABEL;

/// The keyed cluster's key: fixed, so the targets open what the captured
/// agents sealed. It protects nothing; it only names the fuzz corpus.
pub fn fuzz_key() -> Key {
    let mut bytes = [0u8; rumor_seal::KEY_LEN];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    Key::from_bytes(bytes)
}

/// A fresh sealer over [`fuzz_key`] and [`LABEL`]. Fresh for every input:
/// a shared one would remember nonces across inputs, and an input would
/// open or not depending on what ran before it.
pub fn fuzz_sealer() -> Sealer {
    Sealer::new(Keyring::new(fuzz_key()), LABEL, SealerConfig::default())
        .expect("the default label fits")
}

/// The setup a selector byte picks.
pub fn setup(selector: u8) -> Setup {
    SETUPS[usize::from(selector & 3)]
}

/// Agent `host` (1, 2, 3) or the pseudo member ([`SPY_HOST`]) of a setup.
pub fn host_addr(setup: Setup, host: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, setup.net, host), PORT))
}

/// The pseudo member of a setup: the identity a fuzzed core takes.
pub fn spy(setup: Setup) -> NodeId {
    NodeId::new(host_addr(setup, SPY_HOST), Version(SPY_VERSION))
}

/// A datagram's recipient as the agent binds it into a sealed datagram:
/// the destination's IP octets, then its port, big-endian (the agent's
/// `driver::recipient`).
pub fn recipient(addr: SocketAddr) -> Vec<u8> {
    let mut out = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
        std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    out.extend_from_slice(&addr.port().to_be_bytes());
    out
}

/// Which event may follow which, for one member as one observer sees it
/// (the state diagram of the core's property tests).
fn allowed(previous: Option<EventKind>, next: EventKind) -> bool {
    use EventKind::*;
    match (previous, next) {
        (None, Joined) => true,
        (None, _) => false,
        (Some(Joined | Alive), Suspected | Failed | Left | Removed) => true,
        (Some(Suspected), Alive | Failed | Left | Removed) => true,
        (Some(Failed | Left), Removed) => true,
        _ => false,
    }
}

/// A live membership core, driven as the agent drives it, with the core's
/// documented invariants checked after every step: a violation panics, and
/// libFuzzer reports it like any other panic.
pub struct Harness {
    /// The core under test.
    pub core: Membership,
    /// Its clock.
    pub now: Time,
    me: NodeId,
    /// The largest datagram envelope the core may hand out: the limit less
    /// the seal the keyed agent adds.
    room: usize,
    observer: NodeId,
    last: BTreeMap<NodeId, EventKind>,
    buf: Vec<u8>,
}

impl Harness {
    /// The pseudo member of the selector's setup, alone in its cluster,
    /// running that setup's detector (and, for the keyed setup, leaving
    /// room for the seal as the keyed agent does), its clock at
    /// [`CORE_CLOCK_MS`].
    pub fn new(selector: u8) -> Harness {
        let setup = setup(selector);
        let config = Config::default();
        let detector = DetectorRegistry::with_builtins()
            .create(setup.detector, &DetectorSettings::new(&config))
            .expect("a built-in detector");
        let me = spy(setup);
        let overhead = if setup.keyed {
            fuzz_sealer().overhead()
        } else {
            0
        };
        let core = Membership::builder(me, detector)
            .config(config.clone())
            .seed(u64::from(selector))
            .packet_overhead(overhead)
            .start(Time::ZERO)
            .expect("the default configuration is valid");
        let mut harness = Harness {
            core,
            now: Time::ZERO,
            me,
            room: config.datagram_limit - overhead,
            observer: me,
            last: BTreeMap::new(),
            buf: Vec::new(),
        };
        harness.drain();
        // The core measures plausible versions from its own version and
        // the time since it started: starting it long ago lets it believe
        // the agents' real join times. One tick across the gap (the core
        // takes it for a stall), not one per period of it.
        harness.now = Duration::from_millis(CORE_CLOCK_MS - SPY_VERSION);
        harness.core.tick(harness.now);
        harness.drain();
        harness
    }

    /// Makes the core know `sender` as a live member, as an update from the
    /// sender itself would (how a core learns of a peer that talks to it).
    /// Returns whether it does.
    pub fn learn(&mut self, sender: NodeId) -> bool {
        let update = MemberUpdate {
            node: sender,
            state: MemberState::Alive,
            incarnation: Incarnation(0),
        };
        self.core.handle(
            self.now,
            sender.addr,
            Gossip::Updates {
                sender,
                updates: vec![update],
                extras: Default::default(),
            },
        );
        self.drain();
        self.core
            .members()
            .iter()
            .any(|m| m.node == sender && matches!(m.state, MemberState::Alive))
    }

    /// Hands the core one received envelope as the agent would: a join
    /// request to the introducer side (its answer goes back on the same
    /// stream, so it must encode), every other membership message to
    /// `handle`. Control and dgrep messages are never the core's.
    pub fn deliver(&mut self, envelope: Envelope) {
        let Message::Gossip(body) = envelope.body else {
            return;
        };
        match body {
            request @ Gossip::JoinRequest { .. } => {
                let answer = self
                    .core
                    .handle_request(self.now, request)
                    .expect("a join request is answered");
                assert!(
                    matches!(
                        answer,
                        Gossip::JoinResponse { .. } | Gossip::JoinRefused { .. }
                    ),
                    "a join request answered with {answer:?}"
                );
                let mut frame = Vec::new();
                rumor_wire::encode_to_vec(
                    &Envelope::new(self.me.addr, answer),
                    &mut frame,
                    rumor_wire::DEFAULT_MAX_FRAME,
                )
                .expect("a join answer encodes");
            }
            body => self.core.handle(self.now, envelope.from, body),
        }
        self.drain();
    }

    /// Lets `steps` periods of `step` pass, firing every timer due on the
    /// way in order, as the agent's loop does.
    pub fn run(&mut self, steps: u32, step: Duration) {
        for _ in 0..steps {
            let next = self.now + step;
            self.advance_to(next);
        }
    }

    /// Moves the clock to `to`, ticking at each deadline the core asks for
    /// and at `to`, draining after each tick.
    pub fn advance_to(&mut self, to: Time) {
        // A core whose deadline never passes `to` would spin its driver;
        // real deadlines number a few per member.
        for _ in 0..100_000 {
            match self.core.poll_timeout() {
                Some(at) if at <= to && at >= self.now => {
                    self.now = at;
                    self.core.tick(at);
                    self.drain();
                    if self.core.poll_timeout() == Some(at) {
                        // Ticked at this deadline already and it still
                        // stands: move on rather than spin on it.
                        break;
                    }
                }
                _ => break,
            }
        }
        self.now = to.max(self.now);
        self.core.tick(self.now);
        self.drain();
    }

    /// Drains transmits, events and notices, checking each.
    pub fn drain(&mut self) {
        while let Some(event) = self.core.poll_event() {
            // A rejoin starts a new version of this node with a fresh view.
            assert_eq!(event.observer.addr, self.me.addr, "{event:?}");
            if event.observer != self.observer {
                assert!(
                    self.observer.is_superseded_by(&event.observer),
                    "observer {} followed by {}",
                    self.observer,
                    event.observer
                );
                self.observer = event.observer;
                self.last.clear();
            }
            let previous = self.last.get(&event.member).copied();
            assert!(
                allowed(previous, event.kind),
                "{} went {:?} -> {:?}",
                event.member,
                previous,
                event.kind
            );
            if event.kind == EventKind::Joined {
                let newer_seen = self.last.keys().any(|m| event.member.is_superseded_by(m));
                assert!(!newer_seen, "{} joined after a newer version", event.member);
            }
            self.last.insert(event.member, event.kind);
        }
        // What the core hands out is the exact envelope, from this node,
        // within the room a datagram leaves, and decodes.
        while let Some(transmit) = self.core.poll_transmit(&mut self.buf) {
            assert_eq!(transmit.len, self.buf.len());
            if transmit.channel == Channel::Datagram {
                assert!(
                    self.buf.len() <= self.room,
                    "{transmit:?} over {}",
                    self.room
                );
            }
            let envelope = rumor_wire::decode(&self.buf).expect("the core's own encoding decodes");
            assert_eq!(envelope.from, self.me.addr);
        }
        // A message the core could not fit is dropped and counted: its
        // budgets are meant to be exact, so any is a bug.
        assert_eq!(
            self.core.stats().oversize_payloads,
            0,
            "a message did not fit"
        );
        while self.core.poll_notice().is_some() {}
        let members = self.core.members();
        let mut addrs: Vec<SocketAddr> = members.iter().map(|m| m.node.addr).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(
            addrs.len(),
            members.len(),
            "two versions of one address listed"
        );
        assert_eq!(self.core.id().addr, self.me.addr);
    }
}

/// How long a selector byte's high bits let time run after the input:
/// `(steps, step)`, from none at all to several seconds (enough for a
/// suspicion to expire).
pub fn schedule(selector: u8) -> (u32, Duration) {
    let steps = u32::from((selector >> 2) & 7);
    let step = match selector >> 5 {
        0 => Duration::from_millis(10),
        1 => Duration::from_millis(100),
        2 => Duration::from_millis(250),
        3 => Duration::from_millis(500),
        4 => Duration::from_secs(1),
        5 => Duration::from_secs(2),
        6 => Duration::from_secs(5),
        _ => Duration::from_secs(30),
    };
    (steps, step)
}
