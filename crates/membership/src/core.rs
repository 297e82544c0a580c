//! The core: the node, its view of the cluster and its anti-entropy,
//! wired together. It handles what concerns the node as a whole — who may
//! talk to it, joins and leaves, `Gone` and digests, the periodic work of
//! a tick, starting over under a new version — and leaves the member
//! list's transitions to the [`View`] and the node's outputs to the
//! [`Node`]. [`crate::Membership`] drives it and its detector.

use std::net::SocketAddr;
use std::sync::Arc;

use rumor_wire::{Gossip, Incarnation, JoinRetry, MemberInfo, MemberState, MemberUpdate, NodeId};

use crate::anti_entropy::{Answer, AntiEntropy};
use crate::detector::MemberChange;
use crate::healing;
use crate::lifecycle::{Lifecycle, Rejoin};
use crate::member_list::Standing;
use crate::node::Node;
use crate::room::Room;
use crate::view::View;
use crate::{Channel, Config, Event, EventKind, Notice, Outbound, Stats, Time, Transmit};

/// Most members a leaving node tells directly; the rest learn by gossip.
const LEAVE_DIRECT: usize = 64;

/// Everything but the detector; the detector sees it through a
/// [`crate::DetectorContext`].
#[derive(Debug)]
pub(crate) struct Core {
    node: Node,
    view: View,
    anti_entropy: AntiEntropy,
    /// What fits in a datagram.
    room: Room,
    /// The deadline this node last asked its driver for: a call much later
    /// than that means this node was not running.
    expected: Option<Time>,
}

impl Core {
    /// Node `me` alone in its own cluster at `now`; emits `joined` for
    /// itself.
    pub(crate) fn new(
        me: NodeId,
        config: Config,
        detector: Arc<str>,
        seed: u64,
        packet_overhead: usize,
        now: Time,
    ) -> Core {
        let room = Room::new(me, &detector, config.datagram_limit, packet_overhead);
        let (mut node, first_sync) = Node::new(me, config, detector, seed, now);
        let view = View::new(me, &node);
        node.emit(EventKind::Joined, me, Incarnation(0));
        Core {
            node,
            view,
            anti_entropy: AntiEntropy::new(first_sync),
            room,
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
        &self.node.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.node.stats
    }

    pub(crate) fn detector_name(&self) -> &Arc<str> {
        self.node.journal.detector()
    }

    pub(crate) fn lifecycle(&self) -> &Lifecycle {
        &self.node.lifecycle
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

    /// Every member, sorted by id.
    pub(crate) fn members(&self) -> Vec<MemberInfo> {
        self.view
            .list()
            .iter_sorted()
            .into_iter()
            .map(|m| MemberInfo {
                node: m.id,
                state: m.state,
                incarnation: m.incarnation,
            })
            .collect()
    }

    /// Room for a detector payload within the datagram.
    pub(crate) fn payload_limit(&self) -> usize {
        self.room.payload()
    }

    /// Bytes of news waiting to be piggybacked, up to one message's worth.
    pub(crate) fn news_bytes(&self) -> usize {
        let most = self.node.config().max_piggyback.get();
        self.view.news_bytes(most)
    }

    pub(crate) fn suspicion_timeout(&self) -> std::time::Duration {
        self.view.suspicion_timeout()
    }

    /// Counts a payload too large to send, and says so.
    pub(crate) fn oversize(&mut self, size: usize, limit: usize) -> crate::MembershipError {
        self.node.stats.oversize_payloads += 1;
        crate::MembershipError::PayloadTooLarge {
            detector: self.detector_name().to_string(),
            size,
            limit,
        }
    }

    pub(crate) fn count_implausible(&mut self, n: u64) {
        self.node.stats.absurd_updates += n;
    }

    /// A detector's payload for `to`, wrapped when the driver polls it.
    pub(crate) fn push_detector(&mut self, to: SocketAddr, payload: Vec<u8>) {
        self.node.outbox.push_detector(to, payload);
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
        let (me, name) = (self.node.me(), self.detector_name().clone());
        let Core {
            node, view, room, ..
        } = self;
        let knobs = piggyback_knobs(node.config());
        let mut piggyback = |budget| piggyback(view, knobs, budget);
        node.outbox
            .next_transmit(buf, me, &name, room, &mut node.stats, &mut piggyback)
    }

    /// The next outgoing message as a value.
    pub(crate) fn next_message(&mut self) -> Option<Outbound> {
        let (me, name) = (self.node.me(), self.detector_name().clone());
        let Core {
            node, view, room, ..
        } = self;
        let knobs = piggyback_knobs(node.config());
        let mut piggyback = |budget| piggyback(view, knobs, budget);
        node.outbox
            .next_message(me, &name, room, &mut node.stats, &mut piggyback)
    }

    pub(crate) fn pop_event(&mut self) -> Option<Event> {
        self.node.journal.pop_event()
    }

    pub(crate) fn pop_note(&mut self) -> Option<(NodeId, MemberChange)> {
        self.node.journal.pop_note()
    }

    pub(crate) fn clear_notes(&mut self) {
        self.node.journal.clear_notes();
    }

    pub(crate) fn pop_notice(&mut self) -> Option<Notice> {
        self.node.journal.pop_notice()
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
        self.node.stats.stalls += 1;
        self.view.postpone_suspicions(self.node.now(), grace);
    }

    // ----- messages in ---------------------------------------------------------

    /// Applies news carried by a message from `from` (`None`: a join
    /// response).
    pub(crate) fn apply(&mut self, update: MemberUpdate, from: Option<SocketAddr>) {
        self.view.apply(&mut self.node, update, from);
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
        let (me, budget) = (self.node.me(), self.room.updates());
        let answer = AntiEntropy::answer(
            self.view.list(),
            me,
            budget,
            reply,
            buckets,
            first,
            summaries,
        );
        match answer {
            Answer::Malformed => self.node.stats.malformed_digests += 1,
            Answer::Repair { updates, digest } => {
                if !updates.is_empty() {
                    self.node.stats.digest_repairs += 1;
                    self.node.send_updates(from, updates);
                }
                if let Some(digest) = digest {
                    self.node.send(from, digest);
                }
            }
        }
    }

    /// Sends `to` a digest of the next window of buckets.
    pub(crate) fn digest_to(&mut self, to: SocketAddr) {
        let digest = self
            .anti_entropy
            .digest(self.view.list(), self.node.me(), self.room.datagram);
        self.node.send(to, digest);
    }

    // ----- time ------------------------------------------------------------------

    /// Fires due timers and does the periodic work: the leave's gossip,
    /// anti-entropy, reconnect attempts.
    pub(crate) fn tick(&mut self) {
        self.step_join();
        if !self.node.lifecycle.is_member() {
            return;
        }
        self.view.fire_timers(&mut self.node);
        let now = self.node.now();
        if self.node.lifecycle.has_left() {
            if self
                .node
                .lifecycle
                .leave_gossip()
                .is_some_and(|at| at <= now)
            {
                self.leave_gossip();
                if self.node.lifecycle.leave_gossip().is_some() {
                    let next = now + self.node.config().heartbeat;
                    self.node.lifecycle.set_leave_gossip(Some(next));
                }
            }
            return;
        }
        if self.anti_entropy.due(now, self.node.config().sync_interval) {
            let mut target = Vec::new();
            self.view
                .list()
                .choose_live(self.node.rng(), 1, &[], &mut target);
            if let Some(to) = target.first() {
                self.digest_to(to.addr);
            }
        }
        let live = self.live_count();
        if let Some(to) = self.node.reconnect_due(live) {
            self.node.stats.reconnect_attempts += 1;
            let knock = AntiEntropy::knock(self.view.list(), self.node.me());
            self.node.send(to, knock);
        }
    }

    /// After a leave: keep gossiping the news a few rounds.
    fn leave_gossip(&mut self) {
        let mut targets = Vec::new();
        let fanout = self.node.config().fanout.get();
        self.view
            .list()
            .choose_live(self.node.rng(), fanout, &[], &mut targets);
        for to in targets {
            let budget = self.room.updates();
            let updates = self.view.piggyback(&self.node, budget, Some(&to));
            if updates.is_empty() {
                self.node.lifecycle.set_leave_gossip(None);
                return;
            }
            self.node.send_updates(to.addr, updates);
        }
    }

    /// Moves the join under way along, sending the request due, if any.
    pub(crate) fn step_join(&mut self) {
        if let Some((to, nonce)) = self.node.step_join() {
            let request = Gossip::JoinRequest {
                node: self.node.me(),
                nonce,
            };
            self.node.outbox.push(to, request, Channel::Request);
        }
    }

    // ----- joins, leaves, new versions ------------------------------------------

    /// Starts joining through `introducers` (see `Membership::join`).
    pub(crate) fn join(&mut self, introducers: Vec<SocketAddr>) {
        let me = self.node.me();
        let mut candidates: Vec<SocketAddr> = Vec::with_capacity(introducers.len());
        for addr in introducers {
            if addr != me.addr && !candidates.contains(&addr) {
                candidates.push(addr);
            }
        }
        let lifecycle = &self.node.lifecycle;
        if candidates.is_empty() || lifecycle.has_left() || lifecycle.must_rejoin() {
            return;
        }
        let first = self.view.list().len() == 1;
        let now = self.node.now();
        self.node.lifecycle.start_join(candidates, first, now);
        self.step_join();
    }

    /// The seeds of reconnect attempts (this node's own address ignored).
    pub(crate) fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        let me = self.node.me().addr;
        self.node
            .reconnect
            .set_seeds(seeds.into_iter().filter(|a| *a != me).collect());
    }

    /// A request to `to` could not be delivered.
    pub(crate) fn unreachable(&mut self, to: SocketAddr) {
        if self.node.lifecycle.give_up_on(to) {
            let notice = Notice::JoinUnanswered { introducer: to };
            self.node.journal.notice(notice);
            self.step_join();
        }
    }

    /// Introducer side of a join: records the joiner (notes left for the
    /// detector) or says why not.
    pub(crate) fn admit(&mut self, joiner: NodeId, nonce: u64) -> Result<(), Gossip> {
        let me = self.node.me();
        let refuse = |reason: String, retry: JoinRetry| Gossip::JoinRefused {
            nonce,
            reason,
            retry,
        };
        if !self.node.lifecycle.is_active() {
            let reason = format!("{me} is leaving or rejoining the cluster");
            return Err(refuse(reason, JoinRetry::Elsewhere));
        }
        if joiner.addr == me.addr {
            let reason = format!("{joiner} has the introducer's own address");
            return Err(refuse(reason, JoinRetry::Elsewhere));
        }
        if !self.node.plausible_version(joiner.version) {
            let reason = format!(
                "{joiner}: a version that far ahead of this member's clock is refused (is the joiner's clock wrong?)"
            );
            return Err(refuse(reason, JoinRetry::Elsewhere));
        }
        match self.view.list().lookup(&joiner) {
            (Standing::Gone, _) => {
                let newest = self.view.list().newest_version_at(&joiner.addr);
                let reason =
                    format!("{joiner} is not newer than a version of its address already gone");
                Err(refuse(
                    reason,
                    JoinRetry::NewerThan(newest.max(joiner.version)),
                ))
            }
            (Standing::Known, listed) if !listed.is_some_and(|m| m.is_live()) => {
                let reason = format!("{joiner} was declared failed or left");
                Err(refuse(reason, JoinRetry::NewerThan(joiner.version)))
            }
            (Standing::Known, _) => Ok(()),
            (Standing::Unknown, _) => {
                if self.view.learn(&mut self.node, joiner, Incarnation(0)) {
                    return Ok(());
                }
                let max = self.node.config().max_members;
                let reason = format!("{me} lists {max} members already (max_members)");
                Err(refuse(reason, JoinRetry::Elsewhere))
            }
        }
    }

    /// The answer to an admitted join: the member list.
    pub(crate) fn join_response(&self, nonce: u64) -> Gossip {
        let budget = self.node.config().join_response_limit.saturating_sub(64);
        Gossip::JoinResponse {
            introducer: self.node.me(),
            nonce,
            members: self.view.list().join_response(budget),
        }
    }

    /// A join response from `from`: admitted, if it answers the request
    /// this node waits for.
    pub(crate) fn on_join_response(
        &mut self,
        from: SocketAddr,
        introducer: NodeId,
        nonce: u64,
        members: Vec<MemberUpdate>,
    ) {
        let awaited = self.node.lifecycle.awaiting(from, nonce).is_some();
        if !awaited || introducer.addr != from {
            self.node.stats.unsolicited_join_answers += 1;
            return;
        }
        self.node.lifecycle.admitted();
        let listed = members.len();
        self.check_sender(introducer, from);
        self.view.set_quiet(true);
        self.view.reserve(members.len());
        // One `joined` event and one note per new member: grown once.
        self.node.journal.reserve(members.len());
        for update in members {
            self.view.apply(&mut self.node, update, None);
        }
        self.view.set_quiet(false);
        let me = self.node.me();
        let mine = self
            .view
            .list()
            .get(&me)
            .expect("this node is always listed");
        self.view.disseminate(mine.update());
        let notice = Notice::Joined {
            introducer,
            members: listed,
        };
        self.node.journal.notice(notice);
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
        let waiting = !self.node.lifecycle.is_member();
        let renewal = match retry {
            JoinRetry::NewerThan(version) if waiting && self.node.plausible_renewal(version) => {
                Some(version)
            }
            _ => None,
        };
        let Some(joining) = self.node.lifecycle.awaiting(from, nonce) else {
            self.node.stats.unsolicited_join_answers += 1;
            return;
        };
        let renew = match renewal {
            Some(version) => joining.ask_again().then_some(version),
            None => {
                joining.give_up_on(from);
                None
            }
        };
        self.node.stats.join_refused += 1;
        if let Some(version) = renew {
            self.renew_version(version);
        }
        self.node
            .journal
            .notice(Notice::JoinRefused { by: from, reason });
        self.step_join();
    }

    /// Voluntary leave (see `Membership::leave`).
    pub(crate) fn leave(&mut self) {
        let lifecycle = &mut self.node.lifecycle;
        if lifecycle.has_left() || lifecycle.must_rejoin() || !lifecycle.leave() {
            return;
        }
        let me = self.node.me();
        let incarnation = self.view.leave(&mut self.node);
        let mut targets = Vec::new();
        self.view
            .list()
            .choose_live(self.node.rng(), LEAVE_DIRECT, &[], &mut targets);
        for to in targets {
            self.node.send(
                to.addr,
                Gossip::Leave {
                    node: me,
                    incarnation,
                },
            );
        }
        let next = self.node.now() + self.node.config().heartbeat;
        self.node.lifecycle.set_leave_gossip(Some(next));
        self.node.journal.clear_notes();
    }

    /// Takes `peer`'s member list (see `Membership::adopt_view`).
    pub(crate) fn adopt_view(&mut self, peer: &Core) -> bool {
        let lifecycle = &self.node.lifecycle;
        if self.view.list().len() != 1 || !lifecycle.is_active() {
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
        self.node.lifecycle.take_rejoin()
    }

    /// Whom a rejoin asks: `via`, the seeds, a few members of the old view.
    pub(crate) fn rejoin_candidates(&mut self, via: Option<SocketAddr>) -> Vec<SocketAddr> {
        let mut candidates = Vec::new();
        candidates.extend(via);
        for seed in self.node.reconnect.seeds() {
            if !candidates.contains(seed) {
                candidates.push(*seed);
            }
        }
        let mut others = Vec::new();
        self.view
            .list()
            .choose_live(self.node.rng(), 8, &[], &mut others);
        candidates.extend(others.iter().map(|m| m.addr));
        candidates.dedup();
        candidates
    }

    /// Rejoins under a new version through `candidates` (see
    /// `Membership::rejoin`).
    pub(crate) fn rejoin(&mut self, rejoin: Rejoin, mut candidates: Vec<SocketAddr>) {
        let old = self.node.me();
        let new = self.renew_version(old.version);
        self.node.stats.rejoins += 1;
        let notice = Notice::Rejoining {
            old,
            new,
            cause: rejoin.cause,
        };
        self.node.journal.notice(notice);
        let mut seen = Vec::new();
        candidates.retain(|a| {
            *a != new.addr && !seen.contains(a) && {
                seen.push(*a);
                true
            }
        });
        let now = self.node.now();
        self.node.lifecycle.start_rejoin(candidates, now);
        self.step_join();
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
        let lifecycle = &self.node.lifecycle;
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
                    .min(self.node.reconnect.deadline()),
            )
        };
        [join, self.view.next_timer(), periodic]
            .into_iter()
            .flatten()
            .min()
    }
}

/// The dissemination knobs: retransmit multiplier and most news per message.
fn piggyback_knobs(config: &Config) -> (u32, usize) {
    (config.retransmit_mult.get(), config.max_piggyback.get())
}

/// News for a detector message with `budget` bytes of room.
fn piggyback(view: &mut View, (mult, most): (u32, usize), budget: usize) -> Vec<MemberUpdate> {
    let live = view.list().live_count();
    view.dissemination()
        .piggyback(budget, None, mult, most, live)
}
