//! The core: the node, its view of the cluster and its anti-entropy,
//! wired together. It routes what concerns the node as a whole — who may
//! talk to it ([`healing`]), joins and leaves ([`joins`]), digests, the
//! periodic work of a tick, starting over under a new version — and leaves
//! the member list's transitions to the [`View`] and the node's outputs to
//! the [`Node`]. [`crate::Membership`] drives it and its detector.

use std::net::SocketAddr;
use std::sync::Arc;

use rumor_wire::{
    Extras, Gossip, Incarnation, JoinRetry, MemberInfo, MemberState, MemberUpdate, Metadata,
    NodeId, UserBroadcast,
};

use crate::admission::Gate;
use crate::anti_entropy::AntiEntropy;
use crate::broadcasts::{BroadcastError, Broadcasts};
use crate::detector::MemberChange;
use crate::force_leave::{self, ForceLeaveError};
use crate::lifecycle::{Lifecycle, Rejoin};
use crate::metadata::SetMetadataError;
use crate::node::Node;
use crate::provenance::{self, DetectorNote, Trace};
use crate::room::Room;
use crate::view::View;
use crate::{Config, Event, EventKind, Notice, Outbound, Stats, Time, Transmit};
use crate::{healing, joins, metadata, piggyback};

/// Everything but the detector; the detector sees it through a
/// [`crate::DetectorContext`].
#[derive(Debug)]
pub(crate) struct Core {
    node: Node,
    view: View,
    anti_entropy: AntiEntropy,
    /// What fits in a datagram.
    room: Room,
    /// User broadcasts to pass on, seen, and waiting for the program.
    broadcasts: Broadcasts,
    /// The program's admission check of joiners.
    gate: Gate,
    /// The deadline this node last asked its driver for: a call much later
    /// than that means this node was not running.
    expected: Option<Time>,
}

impl Core {
    /// Node `me` alone in its own cluster at `now`, keeping the histories
    /// of at most `provenance` members, with `metadata` and the admission
    /// check `gate`; emits `joined` for itself.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        me: NodeId,
        config: Config,
        detector: Arc<str>,
        seed: u64,
        packet_overhead: usize,
        provenance: usize,
        start: (Metadata, Gate),
        now: Time,
    ) -> Core {
        let room = Room::new(me, &detector, config.datagram_limit, packet_overhead);
        let (mut node, first_sync) = Node::new(me, config, detector, seed, provenance, now);
        let (metadata, gate) = start;
        if !metadata.is_empty() {
            node.set_own_metadata(Some((Incarnation(0), metadata)));
        }
        let view = View::new(me, &node);
        node.emit(EventKind::Joined, me, Incarnation(0));
        Core {
            node,
            view,
            anti_entropy: AntiEntropy::new(first_sync),
            room,
            broadcasts: Broadcasts::default(),
            gate,
            expected: None,
        }
    }

    // ----- what the coordinator and the detector read ---------------------

    pub(crate) fn me(&self) -> NodeId {
        self.node.me()
    }

    pub(crate) fn config(&self) -> &Config {
        self.node.config()
    }

    pub(crate) fn now(&self) -> Time {
        self.node.now()
    }

    /// The driver called at `now`; every call starts with this.
    pub(crate) fn set_now(&mut self, now: Time) {
        self.node.set_now(now);
    }

    pub(crate) fn stats(&self) -> &Stats {
        self.node.stats()
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        self.node.stats_mut()
    }

    pub(crate) fn detector_name(&self) -> &Arc<str> {
        self.node.detector_name()
    }

    pub(crate) fn lifecycle(&self) -> &Lifecycle {
        self.node.lifecycle()
    }

    pub(crate) fn rng(&mut self) -> &mut dyn rand::RngCore {
        self.node.rng()
    }

    pub(crate) fn live_count(&self) -> usize {
        self.view.list().live_count()
    }

    pub(crate) fn list_len(&self) -> usize {
        self.view.list().len()
    }

    pub(crate) fn is_live(&self, member: &NodeId) -> bool {
        self.view.list().get(member).is_some_and(|m| m.is_live())
    }

    pub(crate) fn state_of(&self, member: &NodeId) -> Option<(MemberState, Incarnation)> {
        self.view
            .list()
            .get(member)
            .map(|m| (m.state, m.incarnation))
    }

    pub(crate) fn random_members(&mut self, k: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(k);
        self.view
            .list()
            .choose_live(self.node.rng(), k, exclude, &mut out);
        out
    }

    pub(crate) fn live_others(&self) -> usize {
        self.view.list().live_len()
    }

    pub(crate) fn live_member(&self, index: usize) -> Option<NodeId> {
        self.view.list().live_at(index)
    }

    /// Every member, sorted by id, with its metadata.
    pub(crate) fn members(&self) -> Vec<MemberInfo> {
        metadata::members(self.view.list())
    }

    /// One member, with its metadata.
    pub(crate) fn member(&self, id: &NodeId) -> Option<MemberInfo> {
        metadata::member(self.view.list(), id)
    }

    /// This node's own metadata.
    pub(crate) fn own_metadata(&self) -> Metadata {
        let own = self.node.own_metadata();
        own.map(|(_, m)| m.clone()).unwrap_or_default()
    }

    /// Sets this node's own metadata (see `Membership::set_metadata`).
    pub(crate) fn set_metadata(&mut self, metadata: Metadata) -> Result<(), SetMetadataError> {
        metadata::set_own(&mut self.view, &mut self.node, metadata, &self.room)
    }

    /// Queues a user broadcast (see `Membership::broadcast`).
    pub(crate) fn broadcast(&mut self, payload: Vec<u8>) -> Result<u64, BroadcastError> {
        self.broadcasts.send(&mut self.node, payload, &self.room)
    }

    /// The next user broadcast for the program.
    pub(crate) fn pop_broadcast(&mut self) -> Option<UserBroadcast> {
        self.broadcasts.pop()
    }

    /// Installs the program's admission check.
    pub(crate) fn set_gate(&mut self, gate: Gate) {
        self.gate = gate;
    }

    /// Room for a detector payload within the datagram.
    pub(crate) fn payload_limit(&self) -> usize {
        self.room.payload()
    }

    /// Bytes of news waiting to be piggybacked, up to one message's worth
    /// (user broadcasts included).
    pub(crate) fn news_bytes(&self) -> usize {
        let most = self.node.config().max_piggyback.get();
        let news = self.view.news_bytes(most);
        if self.broadcasts.is_idle() {
            return news;
        }
        (news + self.broadcasts.queued_bytes()).min(self.room.news())
    }

    pub(crate) fn suspicion_timeout(&self) -> std::time::Duration {
        self.view.suspicion_timeout()
    }

    /// Counts a payload too large to send, and says so.
    pub(crate) fn oversize(&mut self, size: usize, limit: usize) -> crate::MembershipError {
        self.node.stats_mut().oversize_payloads += 1;
        crate::MembershipError::PayloadTooLarge {
            detector: self.detector_name().to_string(),
            size,
            limit,
        }
    }

    pub(crate) fn count_implausible(&mut self, n: u64) {
        self.node.stats_mut().absurd_updates += n;
    }

    /// What the detector reported (see [`provenance::detector_note`]).
    pub(crate) fn detector_note(&mut self, note: DetectorNote) {
        provenance::detector_note(self.view.list(), &mut self.node, note);
    }

    /// `member`'s recent history as this node saw it, oldest first.
    pub(crate) fn history(&self, member: &NodeId) -> Vec<Trace> {
        self.node.history(member)
    }

    /// The local health score the detector last reported.
    pub(crate) fn local_health(&self) -> u32 {
        self.node.local_health()
    }

    /// Forces a failed or suspected `member` out (see [`force_leave`]).
    pub(crate) fn force_leave(&mut self, member: NodeId) -> Result<(), ForceLeaveError> {
        force_leave::force_leave(&mut self.view, &mut self.node, member)
    }

    /// A detector's payload for `to`, wrapped when the driver polls it.
    pub(crate) fn push_detector(&mut self, to: SocketAddr, payload: Vec<u8>) {
        self.node.push_detector(to, payload);
    }

    /// The local detector's opinions.
    pub(crate) fn suspect(&mut self, member: NodeId) {
        self.view.suspect(&mut self.node, member);
    }

    pub(crate) fn alive(&mut self, member: NodeId) {
        self.view.alive(&mut self.node, member);
    }

    pub(crate) fn fail(&mut self, member: NodeId) {
        self.view.fail(&mut self.node, member);
    }

    // ----- outputs -----------------------------------------------------------

    /// The next outgoing message, encoded into `buf`.
    pub(crate) fn next_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.with_piggyback(|node, room, fill| node.next_transmit(buf, room, fill))
    }

    /// The next outgoing message as a value.
    pub(crate) fn next_message(&mut self) -> Option<Outbound> {
        self.with_piggyback(|node, room, fill| node.next_message(room, fill))
    }

    /// Hands `f` the node, the room and what fills a detector message's
    /// piggyback from the view and the broadcasts.
    fn with_piggyback<R>(
        &mut self,
        f: impl FnOnce(&mut Node, &Room, &mut crate::outbox::Piggyback<'_>) -> R,
    ) -> R {
        let knobs = piggyback::knobs(self.node.config());
        let (view, broadcasts) = (&mut self.view, &mut self.broadcasts);
        let mut fill = |news| piggyback::fill(view, broadcasts, knobs, news);
        f(&mut self.node, &self.room, &mut fill)
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        self.node.pop_event()
    }

    pub(crate) fn pop_note(&mut self) -> Option<(NodeId, MemberChange)> {
        self.node.pop_note()
    }

    pub(crate) fn clear_notes(&mut self) {
        self.node.clear_notes();
    }

    pub(crate) fn pop_notice(&mut self) -> Option<Notice> {
        self.node.pop_notice()
    }

    /// The deadline last asked of the driver, and a new one.
    pub(crate) fn expected(&self) -> Option<Time> {
        self.expected
    }

    pub(crate) fn set_expected(&mut self, at: Option<Time>) {
        self.expected = at;
    }

    /// After a stall: suspicions that ran out meanwhile are held open
    /// `grace` more.
    pub(crate) fn stalled(&mut self, grace: std::time::Duration) {
        self.node.stats_mut().stalls += 1;
        self.view.postpone_suspicions(self.node.now(), grace);
    }

    // ----- messages in ---------------------------------------------------------

    /// Applies news carried by a message from `from` (`None`: a join
    /// response).
    pub(crate) fn apply(&mut self, update: MemberUpdate, from: Option<SocketAddr>) {
        self.view.apply(&mut self.node, update, from);
    }

    /// The updates and extras of a message `sender` sent from `from`: the
    /// sender checked (see [`healing::check_sender`]), then, unless it does
    /// not count or this node left and `active` is asked, the news applied
    /// (members' metadata beside the updates, user broadcasts to hand on).
    /// Returns whether it was.
    pub(crate) fn receive_news(
        &mut self,
        (sender, from): (NodeId, SocketAddr),
        updates: Vec<MemberUpdate>,
        extras: Extras,
        active: bool,
    ) -> bool {
        let (records, broadcasts) = extras.into_parts();
        let known = metadata::listed(&self.view, &records);
        if !self.check_sender(sender, from) || (active && self.node.lifecycle().has_left()) {
            return false;
        }
        let (view, node) = (&mut self.view, &mut self.node);
        metadata::apply_news(view, node, updates, (records, known), Some(from));
        if !broadcasts.is_empty() && !self.node.lifecycle().has_left() {
            let stats = self.node.stats_mut();
            self.broadcasts.receive(broadcasts, stats);
        }
        true
    }

    /// Checks the sender of a message (see [`healing::check_sender`]).
    pub(crate) fn check_sender(&mut self, sender: NodeId, from: SocketAddr) -> bool {
        healing::check_sender(&mut self.view, &mut self.node, sender, from)
    }

    /// A member at `from` holds this node dead (see [`healing::on_gone`]).
    pub(crate) fn on_gone(
        &mut self,
        from: SocketAddr,
        sender: NodeId,
        about: MemberUpdate,
        their_live: u32,
        reply: bool,
    ) {
        healing::on_gone(
            &self.view,
            &mut self.node,
            from,
            sender,
            about,
            their_live,
            reply,
        );
    }

    /// Answers an anti-entropy digest from `from` (its sender checked).
    pub(crate) fn on_digest(
        &mut self,
        from: SocketAddr,
        reply: bool,
        buckets: u32,
        first: u32,
        summaries: &[u8],
    ) {
        let room = (self.room.news(), self.room.datagram());
        let digest = (reply, buckets, first, summaries);
        let list = self.view.list();
        self.anti_entropy
            .answer_from(list, &mut self.node, room, from, digest);
    }

    /// Sends `to` a digest of the next window of buckets (an anti-entropy
    /// exchange this node starts, counted).
    pub(crate) fn digest_to(&mut self, to: SocketAddr) {
        self.node.stats_mut().anti_entropy += 1;
        let list = self.view.list();
        self.anti_entropy
            .send_window(list, &mut self.node, self.room.datagram(), to);
    }

    // ----- time ------------------------------------------------------------------

    /// Fires due timers and does the periodic work: the leave's gossip,
    /// anti-entropy, reconnect attempts.
    pub(crate) fn tick(&mut self) {
        joins::step(&mut self.node);
        if !self.node.lifecycle().is_member() {
            return;
        }
        self.view.fire_timers(&mut self.node);
        let now = self.node.now();
        if self.node.lifecycle().has_left() {
            joins::leave_gossip(&mut self.view, &mut self.node, &self.room, now);
            return;
        }
        self.anti_entropy
            .sync_if_due(self.view.list(), &mut self.node);
        if let Some(to) = self.node.reconnect_due(self.live_count()) {
            self.node.stats_mut().reconnect_attempts += 1;
            let root = AntiEntropy::root(self.view.list(), self.node.me());
            self.node.send(to, root);
        }
    }

    /// News of a failure, leave or refutation queued since the last look
    /// goes at once to `news_fanout` random members (each of which does the
    /// same on first hearing it), not waiting for the detector's messages.
    pub(crate) fn push_fresh_news(&mut self) {
        let (queue, _) = self.view.dissemination();
        if !queue.take_fresh() || !self.node.lifecycle().is_active() {
            return;
        }
        let k = self.node.config().news_fanout;
        for member in self.random_members(k, &[]) {
            self.node.push_news(member.addr);
        }
    }

    // ----- joins, leaves, new versions ------------------------------------------

    /// Starts joining through `introducers` (see `Membership::join`).
    pub(crate) fn join(&mut self, introducers: Vec<SocketAddr>) {
        joins::join(&self.view, &mut self.node, introducers);
    }

    /// The seeds of reconnect attempts (this node's own address ignored).
    pub(crate) fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        let me = self.node.me().addr;
        self.node
            .set_seeds(seeds.into_iter().filter(|a| *a != me).collect());
    }

    /// A request to `to` could not be delivered.
    pub(crate) fn unreachable(&mut self, to: SocketAddr) {
        joins::unreachable(&mut self.node, to);
    }

    /// Introducer side of a join (see [`joins::admit`]).
    pub(crate) fn admit(
        &mut self,
        joiner: NodeId,
        nonce: u64,
        extras: Extras,
    ) -> Result<(), Gossip> {
        let (view, node, gate) = (&mut self.view, &mut self.node, &mut self.gate);
        joins::admit(view, node, gate, joiner, nonce, extras)
    }

    /// The answer to an admitted join: the member list.
    pub(crate) fn join_response(&self, nonce: u64) -> Gossip {
        joins::response(&self.view, &self.node, &self.broadcasts, nonce)
    }

    /// A join response from `from` (see [`joins::on_response`]).
    pub(crate) fn on_join_response(
        &mut self,
        from: SocketAddr,
        introducer: NodeId,
        nonce: u64,
        members: Vec<MemberUpdate>,
        extras: Extras,
    ) {
        let (view, node) = (&mut self.view, &mut self.node);
        let broadcasts = joins::on_response(view, node, from, introducer, nonce, members, extras);
        if !broadcasts.is_empty() {
            let stats = self.node.stats_mut();
            self.broadcasts.receive(broadcasts, stats);
        }
    }

    /// A join refusal from `from`: ask elsewhere, or again under a newer
    /// version.
    pub(crate) fn on_join_refused(
        &mut self,
        from: SocketAddr,
        nonce: u64,
        reason: String,
        retry: JoinRetry,
    ) {
        let Some(renew) = joins::on_refused(&mut self.node, from, nonce, retry) else {
            return;
        };
        if let Some(version) = renew {
            self.renew_version(version);
        }
        self.node.notice(Notice::JoinRefused { by: from, reason });
        joins::step(&mut self.node);
    }

    /// Voluntary leave (see `Membership::leave`).
    pub(crate) fn leave(&mut self) {
        joins::leave(&mut self.view, &mut self.node);
    }

    /// Takes `peer`'s member list (see `Membership::adopt_view`).
    pub(crate) fn adopt_view(&mut self, peer: &Core) -> bool {
        if self.view.list().len() != 1 || !self.node.lifecycle().is_active() {
            return false;
        }
        self.view.adopt(&peer.view, self.node.me())
    }

    /// Walks the table: every member, by slot (see `Membership::adopt_view`).
    pub(crate) fn slot_count(&self) -> usize {
        self.view.list().slot_count()
    }

    pub(crate) fn in_slot(&self, at: usize) -> Option<crate::member_list::Member> {
        self.view.list().in_slot(at)
    }

    /// The pending rejoin, if this version is over.
    pub(crate) fn take_rejoin(&mut self) -> Option<Rejoin> {
        self.node.take_rejoin()
    }

    /// Whom a rejoin asks: `via`, the seeds, a few members of the old view.
    pub(crate) fn rejoin_candidates(&mut self, via: Option<SocketAddr>) -> Vec<SocketAddr> {
        joins::rejoin_candidates(&self.view, &mut self.node, via)
    }

    /// Rejoins under a new version through `candidates` (see
    /// `Membership::rejoin`).
    pub(crate) fn rejoin(&mut self, rejoin: Rejoin, mut candidates: Vec<SocketAddr>) {
        let old = self.node.me();
        let new = self.renew_version(old.version);
        self.node.stats_mut().rejoins += 1;
        let notice = Notice::Rejoining {
            old,
            new,
            cause: rejoin.cause,
        };
        self.node.notice(notice);
        let mut seen = Vec::new();
        candidates.retain(|a| {
            *a != new.addr && !seen.contains(a) && {
                seen.push(*a);
                true
            }
        });
        self.node.start_rejoin(candidates);
        joins::step(&mut self.node);
    }

    /// Takes a version newer than the current one, `at_least` and any seen
    /// of this address, with a list holding only itself.
    fn renew_version(&mut self, at_least: rumor_wire::Version) -> NodeId {
        let me = self.node.renew_version(at_least);
        self.view.reset(me, &self.node);
        self.anti_entropy.reset();
        self.node.emit(EventKind::Joined, me, Incarnation(0));
        me
    }

    /// The next time the core needs a tick, the detector aside.
    pub(crate) fn next_timeout(&self) -> Option<Time> {
        let lifecycle = self.node.lifecycle();
        let join = lifecycle.join_deadline();
        if !lifecycle.is_member() {
            return join;
        }
        let periodic = if lifecycle.has_left() {
            lifecycle.leave_gossip()
        } else {
            Some(
                self.anti_entropy
                    .deadline()
                    .min(self.node.reconnect_deadline()),
            )
        };
        [join, self.view.next_timer(), periodic]
            .into_iter()
            .flatten()
            .min()
    }
}
