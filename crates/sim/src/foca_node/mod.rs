//! foca (a SWIM implementation in Rust, sans-I/O like rumor's core) as a
//! simulated node, beside rumor's detectors on the same virtual clock,
//! network and seeds.
//!
//! The driver does what an agent built on foca does: it hands every
//! datagram to `handle_data`, fires foca's timers when due, sends what foca
//! sends, and joins by announcing to an introducer (node 0, 1 or 2 in
//! turn), again every [`ANNOUNCE_RETRY`] until foca says it is active.
//! Identities carry the process version; declared down, a node renews its
//! identity (the next version) and rejoins by itself, as rumor's cores do.
//! foca's notifications become the events rumor's cores emit: `MemberUp`
//! is `joined`, `MemberDown` is `failed`, a rename `removed` of the older
//! version, and a probe that failed (`ProbeFailed`) is a `suspected` raised
//! by this node. foca tells nothing of suspicions it only hears about, nor
//! of refutations; and its leave declares the identity down, so observers
//! see a leaver as `failed`.
//!
//! Bytes are foca's own encoding (its postcard codec) of each datagram,
//! counted as rumor's envelopes are: without UDP and IP headers.

mod identity;
mod runtime;
mod settings;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use foca::{Foca, Member, NoCustomBroadcast, PostcardCodec, State};
use rumor_membership::{Event, Incarnation, MemberInfo, MemberState, NodeId, Time};

use crate::rng::DetRng;
use identity::FocaId;
use runtime::{Due, Rt};
pub use settings::{FocaPreset, FocaSettings};

/// The detector name the simulator runs foca under.
pub const NAME: &str = "foca";

/// How often a node that has not joined yet announces itself again, to the
/// next introducer.
pub const ANNOUNCE_RETRY: Duration = Duration::from_secs(1);

/// One simulated process running foca.
pub(crate) struct FocaNode {
    foca: Foca<FocaId, PostcardCodec, DetRng, NoCustomBroadcast>,
    rt: Rt,
    introducers: Vec<SocketAddr>,
    next_introducer: usize,
    left: bool,
    /// Calls foca refused (malformed or unexpected input; never expected).
    errors: u64,
}

impl FocaNode {
    /// A node `me` alone, configured with `config`, drawing from `seed`;
    /// emits `joined` for itself.
    pub fn new(me: NodeId, config: foca::Config, seed: u64, now: Time) -> FocaNode {
        let id = FocaId::of(me);
        let foca = Foca::new(id, config, DetRng::new(seed), PostcardCodec);
        let mut rt = Rt::new(id, now, Arc::from(NAME));
        rt.joined_self();
        FocaNode {
            foca,
            rt,
            introducers: Vec::new(),
            next_introducer: 0,
            left: false,
            errors: 0,
        }
    }

    /// The current identity.
    pub fn id(&self) -> NodeId {
        self.rt.me.node()
    }

    /// Joins through `introducers` (its own address skipped): announces to
    /// the first now and to the next every [`ANNOUNCE_RETRY`] until active.
    pub fn join(&mut self, now: Time, introducers: Vec<SocketAddr>) {
        let me = SocketAddr::V4(self.rt.me.addr());
        self.introducers = introducers.into_iter().filter(|a| *a != me).collect();
        self.next_introducer = 0;
        self.announce(now);
    }

    fn announce(&mut self, now: Time) {
        self.rt.now = now;
        if self.rt.active || self.left || self.introducers.is_empty() {
            return;
        }
        let to = self.introducers[self.next_introducer % self.introducers.len()];
        self.next_introducer += 1;
        let r = self.foca.announce(FocaId::anyone_at(to), &mut self.rt);
        self.count(r);
        self.rt.schedule(now + ANNOUNCE_RETRY, Due::Announce);
    }

    /// Starts listing every one of `nodes` alive, as in a cluster formed
    /// long ago: nothing is broadcast and no event is emitted.
    pub fn adopt(&mut self, now: Time, nodes: &[NodeId]) {
        self.rt.now = now;
        let me = self.rt.me;
        let members = nodes
            .iter()
            .map(|&n| FocaId::of(n))
            .filter(|id| *id != me)
            .map(Member::alive);
        self.rt.quiet = true;
        let r = self.foca.apply_many(members, false, &mut self.rt);
        self.rt.quiet = false;
        self.count(r);
    }

    /// A datagram arrived.
    pub fn handle(&mut self, now: Time, data: &[u8]) {
        self.rt.now = now;
        let r = self.foca.handle_data(data, &mut self.rt);
        self.count(r);
    }

    /// Fires every timer due at `now`.
    pub fn tick(&mut self, now: Time) {
        self.rt.now = now;
        for pending in self.rt.take_due(now) {
            match pending.due {
                Due::Foca(timer) => {
                    let r = self.foca.handle_timer(timer, &mut self.rt);
                    self.count(r);
                }
                Due::Announce => self.announce(now),
            }
        }
    }

    /// Leaves: foca declares its own identity down and tells a few members.
    pub fn leave(&mut self, now: Time) {
        self.rt.now = now;
        self.left = true;
        let r = self.foca.leave_cluster(&mut self.rt);
        self.count(r);
    }

    fn count(&mut self, result: Result<(), foca::Error>) {
        if result.is_err() {
            self.errors += 1;
        }
    }

    /// When [`FocaNode::tick`] is next due.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.rt.next_deadline()
    }

    /// The next datagram to send: destination and bytes.
    pub fn poll_datagram(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.rt.outbox.pop_front()
    }

    /// The next membership event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.rt.events.pop_front()
    }

    /// Whether the node left.
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// Identities foca renewed after being declared down.
    pub fn rejoins(&self) -> u64 {
        self.rt.rejoins
    }

    /// Suspicions this node raised (its probes that failed).
    pub fn suspicions(&self) -> u64 {
        self.rt.suspicions
    }

    /// Calls foca refused.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Members alive or suspected, itself included.
    pub fn live_count(&self) -> usize {
        self.foca.num_members() + usize::from(!self.left)
    }

    /// Every member foca lists, and itself, as rumor's cores list them.
    pub fn members(&self) -> Vec<MemberInfo> {
        let state = if self.left {
            MemberState::Left
        } else {
            MemberState::Alive
        };
        let me = MemberInfo::new(self.id(), state, Incarnation(0));
        std::iter::once(me)
            .chain(self.foca.iter_membership_state().map(|m| {
                let state = match m.state() {
                    State::Alive => MemberState::Alive,
                    State::Suspect => MemberState::Suspect,
                    State::Down => MemberState::Failed,
                };
                let incarnation = Incarnation(u64::from(m.incarnation()));
                MemberInfo::new(m.id().node(), state, incarnation)
            }))
            .collect()
    }
}
