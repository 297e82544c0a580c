//! The node itself, as every part of the core sees it: its identity and
//! clock, its randomness and configuration, the queues the parts write to
//! (messages, events, notes, notices), its counters and the provenance of
//! its suspicions, its standing in the cluster and its memory of failed
//! members. The parts take it as their environment; it holds no member
//! list.

use std::net::SocketAddr;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rumor_wire::{
    Extras, Gossip, Incarnation, MemberMetadata, MemberUpdate, Metadata, NodeId, Version,
};

use crate::detector::MemberChange;
use crate::journal::Journal;
use crate::lifecycle::{Lifecycle, Rejoin};
use crate::outbox::{Outbox, Piggyback};
use crate::plausibility::Plausibility;
use crate::provenance::{Clue, Provenance, Trace};
use crate::reconnect::Reconnect;
use crate::room::Room;
use crate::{
    Channel, Config, Event, EventKind, Notice, Outbound, RejoinCause, Stats, Time, Transmit,
};

/// One node's identity, clock and outputs.
#[derive(Debug)]
pub(crate) struct Node {
    me: NodeId,
    config: Config,
    rng: SmallRng,
    now: Time,
    stats: Stats,
    journal: Journal,
    /// Why members stand as they do here (see [`Provenance`]).
    provenance: Provenance,
    outbox: Outbox,
    lifecycle: Lifecycle,
    /// Failed members remembered for healing, and the driver's seeds.
    reconnect: Reconnect,
    /// The newest version of this node's own address seen anywhere.
    newest_own_version: Version,
    plausible: Plausibility,
    /// This node's own metadata and the incarnation it was set at, if it
    /// has any (its join requests carry it; a new version keeps it).
    own_metadata: Option<(Incarnation, Metadata)>,
}

impl Node {
    /// Node `me` at `now`, every random choice from `seed`, with its
    /// journal for `detector` and the histories of at most `provenance`
    /// members. Returns it with the random offset of its first
    /// anti-entropy digest (drawn first, so a seed replays).
    pub(crate) fn new(
        me: NodeId,
        config: Config,
        detector: Arc<str>,
        seed: u64,
        provenance: usize,
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
            provenance: Provenance::new(provenance),
            outbox: Default::default(),
            lifecycle: Lifecycle::default(),
            reconnect,
            newest_own_version: me.version,
            plausible: Plausibility::new(me.version, now),
            own_metadata: None,
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

    /// The counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counters, to count something.
    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The detector's name, as events carry it.
    pub(crate) fn detector_name(&self) -> &Arc<str> {
        self.journal.detector()
    }

    /// This node's own metadata and the incarnation it was set at.
    pub(crate) fn own_metadata(&self) -> Option<(Incarnation, &Metadata)> {
        self.own_metadata.as_ref().map(|(at, m)| (*at, m))
    }

    /// This node's own metadata is now this.
    pub(crate) fn set_own_metadata(&mut self, metadata: Option<(Incarnation, Metadata)>) {
        self.own_metadata = metadata;
    }

    /// What this node's join requests carry: its own metadata, if any.
    pub(crate) fn own_extras(&self) -> Extras {
        let mut extras = Extras::new();
        if let Some((at, metadata)) = &self.own_metadata {
            let record = MemberMetadata::new(self.me, *at, metadata.clone());
            extras.push_metadata(record);
        }
        extras
    }

    // ----- the journal ------------------------------------------------------

    /// Records a membership event now.
    pub(crate) fn emit(&mut self, kind: EventKind, member: NodeId, incarnation: Incarnation) {
        self.journal.emit(self.now, kind, member, incarnation);
    }

    /// Tells the detector of a change.
    pub(crate) fn note(&mut self, member: NodeId, change: MemberChange) {
        self.journal.note(member, change);
    }

    /// Tells the driver something about this node's own standing.
    pub(crate) fn notice(&mut self, notice: Notice) {
        self.journal.notice(notice);
    }

    /// Makes room for `additional` events and notes at once (one of each
    /// per member of a join response).
    pub(crate) fn reserve_journal(&mut self, additional: usize) {
        self.journal.reserve(additional);
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        self.journal.pop_event()
    }

    pub(crate) fn pop_note(&mut self) -> Option<(NodeId, MemberChange)> {
        self.journal.pop_note()
    }

    /// Drops the notes the detector has not heard yet.
    pub(crate) fn clear_notes(&mut self) {
        self.journal.clear_notes();
    }

    pub(crate) fn pop_notice(&mut self) -> Option<Notice> {
        self.journal.pop_notice()
    }

    // ----- provenance ---------------------------------------------------------

    /// Records a step of `member`'s history now, at `incarnation` (see
    /// [`Provenance`]).
    pub(crate) fn trace(&mut self, member: NodeId, incarnation: Incarnation, clue: Clue) {
        self.provenance.record(member, self.now, incarnation, clue);
    }

    /// `member`'s recent history as this node saw it, oldest first.
    pub(crate) fn history(&self, member: &NodeId) -> Vec<Trace> {
        self.provenance.history(member)
    }

    /// The local health score the detector last reported.
    pub(crate) fn local_health(&self) -> u32 {
        self.provenance.local_health()
    }

    /// The detector's local health score now.
    pub(crate) fn set_local_health(&mut self, score: u32) {
        self.provenance.set_local_health(score);
    }

    // ----- the outbox -------------------------------------------------------

    /// Queues a datagram.
    pub(crate) fn send(&mut self, to: SocketAddr, message: Gossip) {
        self.outbox.push(to, message, Channel::Datagram);
    }

    /// Queues an `Updates` datagram for `to` of the news still to tell
    /// when the driver polls it.
    pub(crate) fn push_news(&mut self, to: SocketAddr) {
        self.outbox.push_news(to);
    }

    /// Queues a request on a stream (a join request).
    pub(crate) fn request(&mut self, to: SocketAddr, message: Gossip) {
        self.outbox.push(to, message, Channel::Request);
    }

    /// Queues a detector's payload for `to`, wrapped when the driver polls
    /// it.
    pub(crate) fn push_detector(&mut self, to: SocketAddr, payload: Vec<u8>) {
        self.outbox.push_detector(to, payload);
    }

    /// The next outgoing message, encoded into `buf`; detector messages
    /// take what `piggyback` gives for the room left.
    pub(crate) fn next_transmit(
        &mut self,
        buf: &mut Vec<u8>,
        room: &Room,
        piggyback: &mut Piggyback<'_>,
    ) -> Option<Transmit> {
        let name = self.journal.detector();
        self.outbox
            .next_transmit(buf, self.me, name, room, &mut self.stats, piggyback)
    }

    /// The next outgoing message as a value.
    pub(crate) fn next_message(
        &mut self,
        room: &Room,
        piggyback: &mut Piggyback<'_>,
    ) -> Option<Outbound> {
        let name = self.journal.detector();
        self.outbox
            .next_message(self.me, name, room, &mut self.stats, piggyback)
    }

    /// Queues an `Updates` datagram.
    pub(crate) fn send_updates(&mut self, to: SocketAddr, updates: Vec<MemberUpdate>) {
        self.send_news(to, updates, Extras::new());
    }

    /// Queues an `Updates` datagram with extras beside the updates.
    pub(crate) fn send_news(&mut self, to: SocketAddr, updates: Vec<MemberUpdate>, extras: Extras) {
        let message = Gossip::Updates {
            sender: self.me,
            updates,
            extras,
        };
        self.send(to, message);
    }

    // ----- standing in the cluster ----------------------------------------

    /// Where this node stands: joining, a member, left, must rejoin.
    pub(crate) fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Starts a join through `candidates` (`first`: this node lists only
    /// itself and waits to be admitted).
    pub(crate) fn start_join(&mut self, candidates: Vec<SocketAddr>, first: bool) {
        self.lifecycle.start_join(candidates, first, self.now);
    }

    /// Starts a rejoin under a new version through `candidates`.
    pub(crate) fn start_rejoin(&mut self, candidates: Vec<SocketAddr>) {
        self.lifecycle.start_rejoin(candidates, self.now);
    }

    /// `to` cannot be reached: whether the join under way gave up on it.
    pub(crate) fn give_up_on(&mut self, to: SocketAddr) -> bool {
        self.lifecycle.give_up_on(to)
    }

    /// Whether the join under way waits for this answer.
    pub(crate) fn awaits(&mut self, from: SocketAddr, nonce: u64) -> bool {
        self.lifecycle.awaiting(from, nonce).is_some()
    }

    /// The join under way was answered: this node is a member.
    pub(crate) fn admitted(&mut self) {
        self.lifecycle.admitted();
    }

    /// `from` refused the join request `nonce`: with `renew`, the join asks
    /// again under a newer version (true if it may), else gives up on
    /// `from`. `None` if no join waits for that answer.
    pub(crate) fn refused(&mut self, from: SocketAddr, nonce: u64, renew: bool) -> Option<bool> {
        let joining = self.lifecycle.awaiting(from, nonce)?;
        if renew {
            return Some(joining.ask_again());
        }
        joining.give_up_on(from);
        Some(false)
    }

    /// This node leaves; false if it was still waiting to be admitted (the
    /// join is dropped and there is nobody to tell).
    pub(crate) fn leave(&mut self) -> bool {
        self.lifecycle.leave()
    }

    /// When the leave's gossip goes out next (`None`: done).
    pub(crate) fn set_leave_gossip(&mut self, at: Option<Time>) {
        self.lifecycle.set_leave_gossip(at);
    }

    /// The rejoin this version's end asked for, if any.
    pub(crate) fn take_rejoin(&mut self) -> Option<Rejoin> {
        self.lifecycle.take_rejoin()
    }

    // ----- reconnect memory ---------------------------------------------------

    /// The driver's seeds (this node's own address already left out).
    pub(crate) fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        self.reconnect.set_seeds(seeds);
    }

    pub(crate) fn seeds(&self) -> &[SocketAddr] {
        self.reconnect.seeds()
    }

    /// A member at `addr` is listed again: no need to knock there.
    pub(crate) fn forget_failed(&mut self, addr: &SocketAddr) {
        self.reconnect.forget(addr);
    }

    /// When a reconnect attempt is due next.
    pub(crate) fn reconnect_deadline(&self) -> Time {
        self.reconnect.deadline()
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
        // A new version starts at incarnation 0, its metadata with it.
        let metadata = self.own_metadata.take().map(|(_, m)| m);
        self.own_metadata = metadata
            .filter(|m| !m.is_empty())
            .map(|m| (Incarnation(0), m));
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
