//! The node itself, as every part of the core sees it: its identity and
//! clock, its randomness and configuration, the queues the parts write to
//! (messages, events, notes, notices), its counters, its standing in the
//! cluster and its memory of failed members. The parts take it as their
//! environment; it holds no member list.

use std::net::SocketAddr;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rumor_wire::{Gossip, Incarnation, MemberUpdate, NodeId, Version};

use crate::detector::MemberChange;
use crate::journal::Journal;
use crate::lifecycle::Lifecycle;
use crate::plausibility::Plausibility;
use crate::reconnect::Reconnect;
use crate::{Channel, Config, EventKind, RejoinCause, Stats, Time};

/// One node's identity, clock and outputs.
#[derive(Debug)]
pub(crate) struct Node {
    me: NodeId,
    config: Config,
    rng: SmallRng,
    now: Time,
    pub(crate) stats: Stats,
    pub(crate) journal: Journal,
    pub(crate) outbox: crate::outbox::Outbox,
    pub(crate) lifecycle: Lifecycle,
    /// Failed members remembered for healing, and the driver's seeds.
    pub(crate) reconnect: Reconnect,
    /// The newest version of this node's own address seen anywhere.
    newest_own_version: Version,
    plausible: Plausibility,
}

impl Node {
    /// Node `me` at `now`, every random choice from `seed`, with its
    /// journal for `detector`. Returns it with the random offset of its
    /// first anti-entropy digest (drawn first, so a seed replays).
    pub(crate) fn new(
        me: NodeId,
        config: Config,
        detector: std::sync::Arc<str>,
        seed: u64,
        now: Time,
    ) -> (Node, Time) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let first_sync = now + jitter(&mut rng, config.sync_interval);
        let reconnect = Reconnect::new(
            config.reconnect_window,
            config.reconnect_limit,
            config.reconnect_interval,
            now,
            &mut rng,
        );
        let node = Node {
            me,
            config,
            rng,
            now,
            stats: Stats::default(),
            journal: Journal::new(me, detector),
            outbox: Default::default(),
            lifecycle: Lifecycle::default(),
            reconnect,
            newest_own_version: me.version,
            plausible: Plausibility::new(me.version, now),
        };
        (node, first_sync)
    }

    /// This node's identity.
    pub(crate) fn me(&self) -> NodeId {
        self.me
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The driver's current time.
    pub(crate) fn now(&self) -> Time {
        self.now
    }

    /// The driver called at `now`.
    pub(crate) fn set_now(&mut self, now: Time) {
        self.now = now;
    }

    /// The seeded generator every random choice comes from.
    pub(crate) fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Records a membership event now.
    pub(crate) fn emit(&mut self, kind: EventKind, member: NodeId, incarnation: Incarnation) {
        self.journal.emit(self.now, kind, member, incarnation);
    }

    /// Tells the detector of a change.
    pub(crate) fn note(&mut self, member: NodeId, change: MemberChange) {
        self.journal.note(member, change);
    }

    /// Queues a datagram.
    pub(crate) fn send(&mut self, to: SocketAddr, message: Gossip) {
        self.outbox.push(to, message, Channel::Datagram);
    }

    /// Queues an `Updates` datagram.
    pub(crate) fn send_updates(&mut self, to: SocketAddr, updates: Vec<MemberUpdate>) {
        let message = Gossip::Updates {
            sender: self.me,
            updates,
        };
        self.send(to, message);
    }

    /// Remembers a member declared failed at `addr`, to knock there later.
    pub(crate) fn remember_failed(&mut self, addr: SocketAddr) {
        self.reconnect.remember(addr, self.now, &mut self.rng);
    }

    /// The reconnect attempt due now, if any, for a view of `live` members.
    pub(crate) fn reconnect_due(&mut self, live: usize) -> Option<SocketAddr> {
        self.reconnect.due(self.now, live, &mut self.rng)
    }

    /// Moves the join under way along; the request due, if any.
    pub(crate) fn step_join(&mut self) -> Option<(SocketAddr, u64)> {
        self.lifecycle
            .step_join(self.now, &mut self.rng, &mut self.journal)
    }

    /// Whether another member's version is plausible now (else counted).
    pub(crate) fn plausible_version(&mut self, version: Version) -> bool {
        let plausible = self.plausible.version(version, self.now);
        if !plausible {
            self.stats.absurd_updates += 1;
        }
        plausible
    }

    /// Whether a refusal's "come back newer than `version`" is one to follow.
    pub(crate) fn plausible_renewal(&self, version: Version) -> bool {
        self.plausible.renewal(version, self.now)
    }

    /// Another version of this node's own address: an older one is gone
    /// already; a newer one means this process was replaced (fail-stop), so
    /// it must rejoin. Returns whether `id` was such a version.
    pub(crate) fn other_version_of_me(&mut self, id: &NodeId, from: Option<SocketAddr>) -> bool {
        if id.addr != self.me.addr || *id == self.me {
            return false;
        }
        if id.version > self.me.version && !self.lifecycle.has_left() {
            if !self.plausible.own_version(id.version, self.now) {
                self.stats.absurd_updates += 1;
                return true;
            }
            self.newest_own_version = self.newest_own_version.max(id.version);
            self.rejoin(RejoinCause::NewerVersion { seen: *id }, from);
        }
        true
    }

    /// This version is over: rejoin under a new one once the current call
    /// ends, asking `via` first. Silent from now on.
    pub(crate) fn rejoin(&mut self, cause: RejoinCause, via: Option<SocketAddr>) {
        self.lifecycle.request_rejoin(cause, via);
        self.outbox.clear();
    }

    /// Takes a version newer than the current one, `at_least` and any seen
    /// of this address; events from now on are this version's.
    pub(crate) fn renew_version(&mut self, at_least: Version) -> NodeId {
        let newest = self.me.version.max(self.newest_own_version).max(at_least);
        let me = NodeId::new(self.me.addr, Version(newest.0.saturating_add(1)));
        self.me = me;
        self.newest_own_version = me.version;
        self.journal.set_observer(me);
        self.journal.clear_notes();
        self.outbox.clear();
        self.lifecycle.set_leave_gossip(None);
        me
    }
}

/// A random offset in `[0, period)`, so that members started together do not
/// act in lock-step.
pub(crate) fn jitter<R: rand::Rng + ?Sized>(
    rng: &mut R,
    period: std::time::Duration,
) -> std::time::Duration {
    let nanos = period.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos == 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_nanos(rng.random_range(0..nanos))
}
