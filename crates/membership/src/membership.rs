//! The membership state machine as the driver sees it: a thin coordinator
//! of the core's parts (see [`crate::core`]) and the detector. Sans-I/O:
//! inputs are [`Membership::handle`] and [`Membership::tick`], outputs are
//! polled.

use std::net::SocketAddr;
use std::time::Duration;

use rumor_wire::{Extras, Gossip, MemberInfo, MemberState, MemberUpdate, Metadata, NodeId};

use crate::admission::Gate;
use crate::builder::Builder;
use crate::core::Core;
use crate::detector::{DetectorContext, FailureDetector, MemberChange};
use crate::{
    Admission, BroadcastError, Config, Event, Notice, Outbound, SetMetadataError, Stats, Time,
    Trace, Transmit, UserBroadcast,
};

/// How late past the deadline it asked for a node may be called before it
/// counts itself stalled (a stopped process, a GC pause, a starved CPU).
/// A healthy driver calls within milliseconds of the deadline.
pub(crate) const STALL: Duration = Duration::from_millis(250);

/// How long after a stall suspicions that ran out meanwhile are held
/// open: time to read the backlog the stall left in the socket buffer.
const STALL_GRACE: Duration = Duration::from_millis(300);

/// One node's membership: the sans-I/O state machine.
///
/// The driver feeds it every received message ([`Membership::handle`]) and
/// calls [`Membership::tick`] at [`Membership::poll_timeout`]; after each
/// call it drains [`Membership::poll_transmit`] and [`Membership::poll_event`].
pub struct Membership {
    core: Core,
    detector: Box<dyn FailureDetector>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("me", &self.core.me())
            .field("detector", self.core.detector_name())
            .field("members", &self.core.list_len())
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// A node alone in its own cluster (member list = itself); emits
    /// `joined` for itself. `seed` seeds every random choice the core and
    /// the detector make. The configuration is checked first; for a driver
    /// that adds bytes to every datagram (an AEAD's nonce and tag), use
    /// [`Membership::builder`].
    pub fn new(
        me: NodeId,
        config: Config,
        detector: Box<dyn FailureDetector>,
        seed: u64,
        now: Time,
    ) -> Result<Membership, crate::MembershipError> {
        Membership::builder(me, detector)
            .config(config)
            .seed(seed)
            .start(now)
    }

    /// Starts building a node `me` watched by `detector`.
    pub fn builder(me: NodeId, detector: Box<dyn FailureDetector>) -> Builder {
        Builder::new(me, detector)
    }

    /// A started core: the detector's first tick, then what it caused.
    pub(crate) fn start(core: Core, detector: Box<dyn FailureDetector>) -> Membership {
        let mut membership = Membership { core, detector };
        membership.with_detector(|detector, ctx| detector.tick(ctx));
        membership.settle();
        membership
    }

    /// This node's identity.
    pub fn id(&self) -> NodeId {
        self.core.me()
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The name of the detector in use, as it appears in events.
    pub fn detector_name(&self) -> &str {
        self.core.detector_name()
    }

    /// Starts joining the cluster through `introducers`, asked in order
    /// (this node's own address is skipped), each a
    /// [`Channel::Request`] whose answer the driver hands to
    /// [`Membership::handle`].
    ///
    /// On a node that still lists only itself, this is its first join: it
    /// takes part in nothing else until admitted, and retries round after
    /// round with backoff for as long as the driver lets it (a refusal
    /// moves on to the next introducer, or renews the version when the
    /// refusal says it is stale). On a node that already lists others, it
    /// is one more exchange of member lists alongside, given up after one
    /// round. Without introducers, nothing changes.
    pub fn join(&mut self, now: Time, introducers: Vec<SocketAddr>) {
        self.core.set_now(now);
        self.core.join(introducers);
    }

    /// The addresses this node goes back to when its view shrinks to
    /// itself or holds fewer live members than it remembers failed (the
    /// agent's `--join` list), and asks after the member that told it to
    /// rejoin. This node's own address is ignored.
    pub fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        self.core.set_seeds(seeds);
    }

    /// Sends `addr` an anti-entropy digest now: if another cluster runs
    /// there, the two member lists merge by push-pull (`rumor join` on a
    /// running agent).
    pub fn contact(&mut self, now: Time, addr: SocketAddr) {
        self.core.set_now(now);
        if self.core.lifecycle().is_member()
            && !self.core.lifecycle().has_left()
            && addr != self.core.me().addr
        {
            self.core.digest_to(addr);
        }
    }

    /// The driver could not deliver a [`Channel::Request`] to `to` (the
    /// stream was refused, or closed without an answer): a join waiting for
    /// `to` moves on at once instead of waiting out its timeout.
    pub fn handle_unreachable(&mut self, now: Time, to: SocketAddr) {
        self.core.set_now(now);
        self.core.unreachable(to);
    }

    /// A request that came over a stream (a [`Gossip::JoinRequest`]):
    /// the answer the driver sends back on the same stream, if any (see
    /// [`Membership::handle_join_request`]). Other messages are counted as
    /// unexpected and get no answer.
    pub fn handle_request(&mut self, now: Time, request: Gossip) -> Option<Gossip> {
        match request {
            Gossip::JoinRequest {
                node,
                nonce,
                extras,
            } => Some(self.answer_join(now, node, nonce, extras)),
            _ => {
                self.core.set_now(now);
                self.core.stats_mut().unexpected += 1;
                None
            }
        }
    }

    /// Introducer side of a join (the request came over a stream): records
    /// and disseminates the join and returns the answer, which the driver
    /// sends back on the same stream: a `JoinResponse` with the member list
    /// (newest changes first, bounded by `Config::join_response_limit`), or
    /// a `JoinRefused` saying what the joiner should do next. Both echo
    /// `nonce`. A joiner without metadata; [`Membership::handle_request`]
    /// takes the request whole.
    pub fn handle_join_request(&mut self, now: Time, joiner: NodeId, nonce: u64) -> Gossip {
        self.answer_join(now, joiner, nonce, Extras::new())
    }

    fn answer_join(&mut self, now: Time, joiner: NodeId, nonce: u64, extras: Extras) -> Gossip {
        self.core.set_now(now);
        if let Err(refusal) = self.core.admit(joiner, nonce, extras) {
            return refusal;
        }
        self.flush_notes();
        self.core.join_response(nonce)
    }

    /// Starts this node from a copy of `peer`'s member list, as a node that
    /// joined long ago would hold it: every member `peer` lists, in the
    /// same state and incarnation, with `peer` itself alive. For simulators
    /// that begin with a cluster already formed: copying a list is one
    /// memory copy, where a join response of n members costs n lookups.
    ///
    /// Nothing is news, so nothing is disseminated and no event is emitted;
    /// the detector is told of every live member (and of every suspicion),
    /// and pending suspicions and removals keep `peer`'s deadlines.
    /// Returns false, changing nothing, unless this node still lists only
    /// itself and `peer` lists it live under this version.
    #[must_use]
    pub fn adopt_view(&mut self, now: Time, peer: &Membership) -> bool {
        self.core.set_now(now);
        if !self.core.adopt_view(&peer.core) {
            return false;
        }
        // The detector hears of each member straight from the table, in
        // table order: a notes queue of every member would be allocated
        // and freed again for each of a simulator's thousands of nodes.
        let me = self.core.me();
        for at in 0..self.core.slot_count() {
            let Some(member) = self.core.in_slot(at) else {
                continue;
            };
            if member.id == me || !member.is_live() {
                continue;
            }
            let id = member.id;
            self.with_detector(|d, ctx| d.member_changed(ctx, id, MemberChange::Joined));
            if member.state == MemberState::Suspect {
                self.with_detector(|d, ctx| d.member_changed(ctx, id, MemberChange::Suspected));
            }
        }
        self.flush_notes();
        true
    }

    /// Every message received: datagrams, and the answers to
    /// [`Channel::Request`]s. `from` is the envelope's sender address (where
    /// replies go).
    pub fn handle(&mut self, now: Time, from: SocketAddr, message: Gossip) {
        self.core.set_now(now);
        self.check_stall(now);
        self.core.stats_mut().messages_received += 1;
        if self.core.lifecycle().must_rejoin() {
            return;
        }
        match message {
            Gossip::JoinResponse {
                introducer,
                nonce,
                members,
                extras,
            } => self
                .core
                .on_join_response(from, introducer, nonce, members, extras),
            Gossip::JoinRefused {
                nonce,
                reason,
                retry,
            } => self.core.on_join_refused(from, nonce, reason, retry),
            _ if !self.core.lifecycle().is_member() => self.core.stats_mut().while_joining += 1,
            Gossip::Gone {
                sender,
                member,
                live,
                reply,
            } => self.core.on_gone(from, sender, member, live, reply),
            Gossip::Leave { node, incarnation } => {
                if node.addr != from {
                    // Only a member itself leaves.
                    self.core.stats_mut().misattributed += 1;
                } else {
                    let left = MemberUpdate {
                        node,
                        state: MemberState::Left,
                        incarnation,
                    };
                    self.core.apply(left, Some(from));
                }
            }
            Gossip::Updates {
                sender,
                updates,
                extras,
            } => {
                self.core
                    .receive_news((sender, from), updates, extras, false);
            }
            Gossip::Digest {
                sender,
                reply,
                buckets,
                first,
                summaries,
            } => {
                if self.core.check_sender(sender, from) && !self.core.lifecycle().has_left() {
                    self.core.on_digest(from, reply, buckets, first, &summaries);
                }
            }
            Gossip::Detector {
                detector,
                sender,
                payload,
                updates,
                extras,
            } => {
                if *detector != **self.core.detector_name() {
                    self.core.stats_mut().foreign_detector += 1;
                } else if self
                    .core
                    .receive_news((sender, from), updates, extras, true)
                {
                    // The news the sender's core piggybacked went in before
                    // the detector sees the payload (it may be about the
                    // sender).
                    self.flush_notes();
                    if !self.core.lifecycle().is_active() {
                        self.settle();
                        return;
                    }
                    let result =
                        self.with_detector(|detector, ctx| detector.handle(ctx, sender, &payload));
                    if result.is_err() {
                        self.core.stats_mut().malformed_payloads += 1;
                    }
                }
            }
            _ => self.core.stats_mut().unexpected += 1,
        }
        self.settle();
    }

    /// Time passed: fire due timers and run the detector.
    pub fn tick(&mut self, now: Time) {
        self.core.set_now(now);
        self.check_stall(now);
        if !self.core.lifecycle().must_rejoin() {
            self.core.tick();
            self.flush_notes();
            if self.core.lifecycle().is_active() {
                self.with_detector(|detector, ctx| detector.tick(ctx));
                self.flush_notes();
            }
        }
        self.settle();
    }

    /// The next message to send, encoded into `buf` (cleared first, then
    /// holding exactly the envelope to send): where it goes and how it must
    /// travel. A [`Channel::Datagram`] fits the datagram limit less the
    /// packet overhead the driver declared; detector messages carry the
    /// membership news that fitted after their payload.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.core.next_transmit(buf)
    }

    /// [`Membership::poll_transmit`] for drivers that pass messages as
    /// values (a simulator, a test): the same next message, not encoded,
    /// with the length its encoding takes. A real network wants bytes.
    pub fn poll_message(&mut self) -> Option<Outbound> {
        self.core.next_message()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.pop_event()
    }

    /// The next time [`Membership::tick`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Time> {
        let core = self.core.next_timeout();
        let lifecycle = self.core.lifecycle();
        let detector = if lifecycle.has_left() || !lifecycle.is_member() {
            None
        } else {
            self.detector.next_deadline()
        };
        [core, detector].into_iter().flatten().min()
    }

    /// The next notice about this node's own standing (joins, refusals,
    /// rejoins), if any.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.core.pop_notice()
    }

    /// Voluntary leave: records `left` for itself, tells up to 64 members
    /// directly with `Leave` messages and gossips the news for a few rounds,
    /// so that every member records `left` (never `failed`). Keep driving the
    /// core for about a second afterwards so the gossip goes out.
    pub fn leave(&mut self, now: Time) {
        self.core.set_now(now);
        self.core.leave();
    }

    /// Every known member, itself included, with state, incarnation and
    /// metadata, sorted by id.
    pub fn members(&self) -> Vec<MemberInfo> {
        self.core.members()
    }

    /// One member as this node lists it, with its metadata.
    pub fn member(&self, id: &NodeId) -> Option<MemberInfo> {
        self.core.member(id)
    }

    /// This node's own metadata.
    pub fn metadata(&self) -> Metadata {
        self.core.own_metadata()
    }

    /// Sets this node's metadata (at most [`crate::METADATA_LIMIT`] bytes
    /// encoded, which [`Metadata`] enforces). It takes a new incarnation,
    /// so the change travels as news of this node alive with the metadata
    /// beside it, and every member (one that joins later included) learns
    /// it; they see a [`Notice::MetadataChanged`]. Setting what it holds
    /// already changes nothing. Refused after a leave, and when the
    /// metadata does not fit this node's datagrams (only with a
    /// `datagram_limit` near its minimum).
    pub fn set_metadata(&mut self, now: Time, metadata: Metadata) -> Result<(), SetMetadataError> {
        self.core.set_now(now);
        let result = self.core.set_metadata(metadata);
        self.settle();
        result
    }

    /// Sends `payload` to every member: piggybacked on this node's
    /// messages and passed on by every member that hears it, each handing
    /// it to its program once through [`Membership::poll_broadcast`] (this
    /// node's own included). At most [`crate::BROADCAST_LIMIT`] bytes, and
    /// at most [`crate::BROADCAST_QUEUE`] of this node's broadcasts still
    /// being sent at once; beyond either, refused. Delivery is best
    /// effort, like gossip: every member reached while the broadcast is
    /// retransmitted (λ·log n times by each) gets it, a member that joins
    /// meanwhile included. Returns its sequence number.
    pub fn broadcast(
        &mut self,
        now: Time,
        payload: impl Into<Vec<u8>>,
    ) -> Result<u64, BroadcastError> {
        self.core.set_now(now);
        self.core.broadcast(payload.into())
    }

    /// The next user broadcast to hand to the program, if any: each one
    /// once, in the order received.
    pub fn poll_broadcast(&mut self) -> Option<UserBroadcast> {
        self.core.pop_broadcast()
    }

    /// Installs the check this node runs, as an introducer, on every join
    /// request (replacing any; see [`Admission`]).
    pub fn set_admission(&mut self, check: impl Admission + 'static) {
        self.core.set_gate(Gate::new(Some(Box::new(check))));
    }

    /// Number of live (alive or suspected) members, itself included.
    pub fn live_count(&self) -> usize {
        self.core.live_count()
    }

    /// True while a first join or a rejoin waits to be admitted (the node
    /// then takes part in nothing else); false once it is a member of a
    /// cluster, its own included.
    pub fn is_joining(&self) -> bool {
        !self.core.lifecycle().is_member()
    }

    /// True after [`Membership::leave`].
    pub fn has_left(&self) -> bool {
        self.core.lifecycle().has_left()
    }

    /// Counters since start.
    pub fn stats(&self) -> &Stats {
        self.core.stats()
    }

    /// `member`'s recent history as this node saw it, oldest first: who
    /// accused it and on what evidence, confirmations, refutations, the
    /// verdict (see [`crate::Clue`]). Bounded; empty for a member with no
    /// suspicion on record.
    pub fn history(&self, member: &NodeId) -> Vec<Trace> {
        self.core.history(member)
    }

    /// The local health score the detector last reported (Lifeguard; 0 is
    /// healthy, and detectors without one stay at 0).
    pub fn local_health(&self) -> u32 {
        self.core.local_health()
    }

    /// Forces a failed (or suspected) `member` out: recorded `left` at
    /// once, no longer knocked at, and the news spreads (`rumor
    /// force-leave`).
    pub fn force_leave(&mut self, now: Time, member: NodeId) -> Result<(), crate::ForceLeaveError> {
        self.core.set_now(now);
        let result = self.core.force_leave(member);
        self.settle();
        result
    }

    fn with_detector<R>(
        &mut self,
        f: impl FnOnce(&mut dyn FailureDetector, &mut DetectorContext<'_>) -> R,
    ) -> R {
        let mut ctx = DetectorContext::new(&mut self.core);
        f(self.detector.as_mut(), &mut ctx)
    }

    /// After a call: tells the detector what changed, and, if this version
    /// is over, rejoins under a new one.
    fn settle(&mut self) {
        self.flush_notes();
        if self.core.lifecycle().must_rejoin() {
            self.rejoin();
        }
        self.core.push_fresh_news();
        let expected = self.poll_timeout();
        self.core.set_expected(expected);
    }

    /// A call far past the deadline this node asked for: it did not run in
    /// between. Suspicions that ran out meanwhile are held open a little
    /// longer and the detector discounts the gap, so a paused member never
    /// declares others failed for a silence of its own making.
    fn check_stall(&mut self, now: Time) {
        let Some(due) = self.core.expected() else {
            return;
        };
        let late = now.saturating_sub(due);
        let lifecycle = self.core.lifecycle();
        if late <= STALL || !lifecycle.is_member() || lifecycle.has_left() {
            return;
        }
        self.core.set_expected(None);
        self.core.stalled(STALL_GRACE);
        self.with_detector(|d, ctx| d.stalled(ctx, late));
    }

    /// Fail-stop: this version is over. The detector forgets every member,
    /// the list starts again with only a new version of this node, and a
    /// rejoin asks, in order, the member that said so, the seeds, and a few
    /// members of the old view; with no answer from any, the node goes on
    /// alone and its reconnect attempts (which it keeps) look for the
    /// others. Counters, notices and the reconnect memory survive.
    fn rejoin(&mut self) {
        let Some(rejoin) = self.core.take_rejoin() else {
            return;
        };
        let candidates = self.core.rejoin_candidates(rejoin.via);
        let live: Vec<NodeId> = (0..self.core.live_others())
            .filter_map(|i| self.core.live_member(i))
            .collect();
        for member in live {
            self.with_detector(|d, ctx| d.member_changed(ctx, member, MemberChange::Down));
        }
        self.core.rejoin(rejoin, candidates);
    }

    /// Tells the detector about member-list changes, including those its
    /// own reactions cause.
    fn flush_notes(&mut self) {
        while let Some((member, change)) = self.core.pop_note() {
            let lifecycle = self.core.lifecycle();
            if lifecycle.has_left() || lifecycle.must_rejoin() {
                self.core.clear_notes();
                return;
            }
            self.with_detector(|detector, ctx| detector.member_changed(ctx, member, change));
        }
    }
}

/// Joins a fresh core through `introducer` the way a driver would: the
/// request goes out, the answer listing `members` comes back.
#[cfg(test)]
pub(crate) fn admit(
    core: &mut Membership,
    now: Time,
    introducer: NodeId,
    members: Vec<MemberUpdate>,
) {
    core.join(now, vec![introducer.addr]);
    let nonce = std::iter::from_fn(|| core.poll_message())
        .find_map(|t| match t.message {
            Gossip::JoinRequest { nonce, .. } if t.to == introducer.addr => Some(nonce),
            _ => None,
        })
        .expect("a join request to the introducer");
    let answer = Gossip::JoinResponse {
        introducer,
        nonce,
        members,
        extras: Extras::new(),
    };
    core.handle(now, introducer.addr, answer);
}

#[cfg(test)]
mod tests;
