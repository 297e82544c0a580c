//! The membership state machine: the member list, its transitions, joins,
//! leaves, dissemination, timers and events. Sans-I/O: inputs are
//! [`Membership::handle`] and [`Membership::tick`], outputs are polled.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rumor_wire::{
    Envelope, Gossip, Incarnation, JoinRetry, MemberInfo, MemberState, MemberUpdate, NodeId,
    Version,
};

use crate::detector::{DetectorContext, FailureDetector, MemberChange};
use crate::dissemination::{Dissemination, retransmit_limit};
use crate::joining::{JoinStep, Joining};
use crate::member_list::{MemberList, Standing};
use crate::notice::{Notice, RejoinCause};
use crate::plausibility::Plausibility;
use crate::provenance::{Accuser, Clue, Provenance, Trace, Verdict};
use crate::reconnect::Reconnect;
use crate::room::Room;
use crate::{Channel, Config, Event, EventKind, Outbound, Stats, Time, Transmit};

/// Most members a leaving node tells directly; the rest learn by gossip.
const LEAVE_DIRECT: usize = 64;

/// How late past the deadline it asked for a node may be called before it
/// counts itself stalled (a stopped process, a GC pause, a starved CPU).
/// A healthy driver calls within milliseconds of the deadline.
pub(crate) const STALL: Duration = Duration::from_millis(250);

/// How long after a stall suspicions that ran out meanwhile are held
/// open: time to read the backlog the stall left in the socket buffer.
const STALL_GRACE: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The suspicion of a member runs out: it is declared failed, or, when
    /// `hearsay` (this node only heard of it and has not asked the suspect
    /// yet), the suspect gets a last chance to refute first.
    SuspectExpire { member: NodeId, hearsay: bool },
    /// Tell a suspected member again that it is suspected.
    SuspectNotice(NodeId, u8),
    /// A failed or left member is deleted.
    Remove(NodeId),
}

/// Everything but the detector; the detector sees it through a
/// [`DetectorContext`].
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) me: NodeId,
    pub(crate) config: Config,
    pub(crate) detector_name: Arc<str>,
    pub(crate) rng: SmallRng,
    pub(crate) now: Time,
    pub(crate) list: MemberList,
    pub(crate) dissemination: Dissemination,
    pub(crate) notes: VecDeque<(NodeId, MemberChange)>,
    pub(crate) stats: Stats,
    /// Messages to send, encoded when the driver polls for them.
    pub(crate) outgoing: VecDeque<Outgoing>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) timers: BinaryHeap<Reverse<(Time, Timer)>>,
    pub(crate) next_sync: Time,
    /// The first bucket of the next anti-entropy digest.
    pub(crate) digest_cursor: usize,
    pub(crate) next_leave_gossip: Option<Time>,
    pub(crate) left: bool,
    /// This version is over (declared failed, or superseded): the core
    /// rejoins under a new version at the end of the current call.
    pub(crate) must_rejoin: Option<Rejoin>,
    /// A member of a cluster (its own, or one that admitted it). False
    /// while a first join or a rejoin waits for its answer: the node then
    /// takes part in nothing else.
    pub(crate) joined: bool,
    /// The join exchange under way, if any.
    pub(crate) joining: Option<Joining>,
    /// Failed members remembered for healing, and the driver's seeds.
    pub(crate) reconnect: Reconnect,
    /// The newest version of this node's own address seen anywhere.
    pub(crate) newest_own_version: Version,
    pub(crate) plausible: Plausibility,
    pub(crate) notices: VecDeque<Notice>,
    /// The deadline this node last asked its driver for: a call much later
    /// than that means this node was not running (see [`STALL`]).
    pub(crate) expected: Option<Time>,
    /// Applying a join response: members learnt from it are not news to
    /// anyone else, so they are not queued for dissemination.
    pub(crate) applying_join_response: bool,
    /// What fits in a datagram.
    pub(crate) room: Room,
    /// Why members stand as they do (see [`Provenance`]).
    pub(crate) provenance: Provenance,
}

/// A message waiting for the driver to poll it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    to: SocketAddr,
    body: Body,
    channel: Channel,
}

/// What an outgoing message is made of.
#[derive(Debug)]
enum Body {
    /// A message complete as it is.
    Message(Gossip),
    /// A detector's payload, to be wrapped with piggybacked updates.
    Detector(Vec<u8>),
}

/// Why and through whom this node rejoins.
#[derive(Debug, Clone)]
pub(crate) struct Rejoin {
    pub(crate) cause: RejoinCause,
    /// The member to ask first: the one that told us.
    pub(crate) via: Option<SocketAddr>,
}

impl Core {
    fn new(
        me: NodeId,
        config: Config,
        detector_name: Arc<str>,
        seed: u64,
        packet_overhead: usize,
        now: Time,
    ) -> Core {
        let room = Room::new(me, &detector_name, config.datagram_limit, packet_overhead);
        let mut rng = SmallRng::seed_from_u64(seed);
        let first_sync = now + jitter(&mut rng, config.sync_interval);
        let reconnect = Reconnect::new(
            config.reconnect_window,
            config.reconnect_limit,
            config.reconnect_interval,
            now,
            &mut rng,
        );
        let mut core = Core {
            me,
            list: MemberList::new(me, now),
            config,
            detector_name,
            rng,
            now,
            dissemination: Dissemination::default(),
            notes: VecDeque::new(),
            stats: Stats::default(),
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            timers: BinaryHeap::new(),
            next_sync: first_sync,
            digest_cursor: 0,
            next_leave_gossip: None,
            left: false,
            must_rejoin: None,
            joined: true,
            joining: None,
            reconnect,
            newest_own_version: me.version,
            plausible: Plausibility::new(me.version, now),
            notices: VecDeque::new(),
            expected: None,
            applying_join_response: false,
            room,
            provenance: Provenance::new(Provenance::DEFAULT_MEMBERS),
        };
        core.emit(EventKind::Joined, me, Incarnation(0));
        core
    }

    // ----- outputs -------------------------------------------------------

    pub(crate) fn emit(&mut self, kind: EventKind, member: NodeId, incarnation: Incarnation) {
        self.events.push_back(Event {
            at: self.now,
            observer: self.me,
            kind,
            member,
            incarnation,
            detector: self.detector_name.clone(),
        });
    }

    pub(crate) fn push_transmit(&mut self, to: SocketAddr, message: Gossip) {
        self.push(to, Body::Message(message), Channel::Datagram);
    }

    fn push(&mut self, to: SocketAddr, body: Body, channel: Channel) {
        self.outgoing.push_back(Outgoing { to, body, channel });
    }

    /// A detector's payload for `to`, wrapped when the driver polls it.
    pub(crate) fn push_detector(&mut self, to: SocketAddr, payload: Vec<u8>) {
        self.push(to, Body::Detector(payload), Channel::Datagram);
    }

    pub(crate) fn send_updates(&mut self, to: SocketAddr, updates: Vec<MemberUpdate>) {
        let message = Gossip::Updates {
            sender: self.me,
            updates,
        };
        self.push_transmit(to, message);
    }

    // ----- what a detector may see ----------------------------------------

    pub(crate) fn now(&self) -> Time {
        self.now
    }

    pub(crate) fn me(&self) -> NodeId {
        self.me
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn rng(&mut self) -> &mut dyn rand::RngCore {
        &mut self.rng
    }

    pub(crate) fn live_count(&self) -> usize {
        self.list.live_count()
    }

    pub(crate) fn is_live(&self, member: &NodeId) -> bool {
        self.list.get(member).is_some_and(|m| m.is_live())
    }

    pub(crate) fn state_of(&self, member: &NodeId) -> Option<(MemberState, Incarnation)> {
        self.list.get(member).map(|m| (m.state, m.incarnation))
    }

    pub(crate) fn random_members(&mut self, k: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(k);
        self.list.choose_live(&mut self.rng, k, exclude, &mut out);
        out
    }

    pub(crate) fn live_others(&self) -> usize {
        self.list.live_len()
    }

    pub(crate) fn live_member(&self, index: usize) -> Option<NodeId> {
        self.list.live_at(index)
    }

    /// Counts a payload too large to send, and says so.
    pub(crate) fn oversize(&mut self, size: usize, limit: usize) -> crate::MembershipError {
        self.stats.oversize_payloads += 1;
        crate::MembershipError::PayloadTooLarge {
            detector: self.detector_name.to_string(),
            size,
            limit,
        }
    }

    pub(crate) fn count_implausible(&mut self, n: u64) {
        self.stats.absurd_updates += n;
    }

    /// Room for a detector payload within the datagram.
    pub(crate) fn payload_limit(&self) -> usize {
        self.room.payload()
    }

    /// Bytes of update records an `Updates` message holds.
    pub(crate) fn updates_budget(&self) -> usize {
        self.room.updates()
    }

    /// Changes to piggyback, whose records take at most `budget` bytes.
    pub(crate) fn piggyback(&mut self, budget: usize, skip: Option<&NodeId>) -> Vec<MemberUpdate> {
        let limit = retransmit_limit(self.config.retransmit_mult.get(), self.list.live_count());
        // A backlog (a join storm of thousands) drains with fuller messages:
        // up to an eighth of the queue per message, within the datagram.
        // In steady state the queue is short and max_piggyback holds.
        let most = self
            .config
            .max_piggyback
            .get()
            .max(self.dissemination.len() / 8);
        // Sized once: a record takes at least 24 bytes.
        let mut out = Vec::with_capacity(most.min(self.dissemination.len()).min(budget / 24));
        self.dissemination.take(budget, most, limit, skip, &mut out);
        out
    }

    /// Bytes of news waiting to be piggybacked, up to what one message
    /// carries: a detector sizing a large payload leaves this much room.
    pub(crate) fn news_bytes(&self) -> usize {
        let most = self
            .config
            .max_piggyback
            .get()
            .max(self.dissemination.len() / 8);
        most.min(self.dissemination.len()) * 24
    }

    /// The next outgoing message, complete (news piggybacked on a
    /// detector's payload), with where and how it goes.
    fn next_outgoing(&mut self) -> Option<(SocketAddr, Gossip, Channel)> {
        let Some(Outgoing { to, body, channel }) = self.outgoing.pop_front() else {
            shrink_idle(&mut self.outgoing);
            return None;
        };
        let message = match body {
            Body::Message(message) => message,
            Body::Detector(payload) => {
                let room = self.room.updates_after_payload(payload.len());
                let updates = self.piggyback(room, None);
                Gossip::Detector {
                    detector: self.detector_name.to_string(),
                    sender: self.me,
                    payload,
                    updates,
                }
            }
        };
        Some((to, message, channel))
    }

    fn limit(&self, channel: Channel) -> usize {
        match channel {
            Channel::Datagram => self.room.datagram,
            Channel::Request => rumor_wire::DEFAULT_MAX_FRAME,
        }
    }

    /// The next outgoing message, encoded into `buf` (cleared first).
    pub(crate) fn next_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        while let Some((to, message, channel)) = self.next_outgoing() {
            buf.clear();
            let envelope = Envelope::new(self.me.addr, message);
            if rumor_wire::encode_to_vec(&envelope, buf, self.limit(channel)).is_err() {
                // Every budget is exact; this is a bug, counted.
                self.stats.oversize_payloads += 1;
                continue;
            }
            self.stats.messages_sent += 1;
            self.stats.bytes_sent += buf.len() as u64;
            return Some(Transmit {
                to,
                channel,
                len: buf.len(),
            });
        }
        None
    }

    /// The next outgoing message as a value, with its encoded length.
    pub(crate) fn next_message(&mut self) -> Option<Outbound> {
        while let Some((to, message, channel)) = self.next_outgoing() {
            let envelope = Envelope::new(self.me.addr, message);
            let len = rumor_wire::encoded_len(&envelope);
            if len > self.limit(channel) {
                self.stats.oversize_payloads += 1;
                continue;
            }
            // The envelope is built only to measure it; the core speaks
            // nothing but gossip, so the body always comes back out.
            if let rumor_wire::Message::Gossip(message) = envelope.body {
                self.stats.messages_sent += 1;
                self.stats.bytes_sent += len as u64;
                return Some(Outbound {
                    to,
                    channel,
                    len,
                    message,
                });
            }
        }
        None
    }

    pub(crate) fn schedule(&mut self, at: Time, timer: Timer) {
        self.timers.push(Reverse((at, timer)));
    }

    // ----- transitions ---------------------------------------------------

    /// A member this node has never listed: list it alive, superseding an
    /// older version of its address.
    pub(crate) fn learn(&mut self, id: NodeId, incarnation: Incarnation) -> bool {
        let older = self.list.superseded_by(&id);
        self.learn_over(id, incarnation, older)
    }

    /// [`Core::learn`] when the caller already looked up what is listed at
    /// `id`'s address: `older`, an older version of it, if any.
    /// Returns false, learning nothing, when the list is full
    /// (`max_members`).
    fn learn_over(&mut self, id: NodeId, incarnation: Incarnation, older: Option<NodeId>) -> bool {
        if older.is_none() && self.list.len() >= self.config.max_members {
            self.stats.members_refused += 1;
            return false;
        }
        if let Some(old) = older {
            self.supersede(old);
        }
        self.reconnect.forget(&id.addr);
        self.list
            .insert(id, MemberState::Alive, incarnation, self.now);
        self.emit(EventKind::Joined, id, incarnation);
        self.notes.push_back((id, MemberChange::Joined));
        if !self.applying_join_response {
            self.dissemination.enqueue(MemberUpdate {
                node: id,
                state: MemberState::Alive,
                incarnation,
            });
        }
        true
    }

    /// A newer version of the address appeared: the old one is gone
    /// (fail-stop) and is deleted at once with a `removed` event.
    fn supersede(&mut self, old: NodeId) {
        if let Some(member) = self.list.remove(&old) {
            if member.is_live() {
                self.notes.push_back((old, MemberChange::Down));
            }
            self.dissemination.forget(&old);
            self.emit(EventKind::Removed, old, member.incarnation);
        }
    }

    pub(crate) fn mark_final(&mut self, id: NodeId, state: MemberState, incarnation: Incarnation) {
        let Some(member) = self.list.get(&id) else {
            return;
        };
        if !member.is_live() {
            return;
        }
        let incarnation = incarnation.max(member.incarnation);
        self.list.set_state(&id, state, incarnation, self.now);
        let remove_at = self.now + self.config.t_delete;
        self.list.set_deadline(&id, remove_at);
        self.schedule(remove_at, Timer::Remove(id));
        let kind = if state == MemberState::Left {
            EventKind::Left
        } else {
            self.reconnect.remember(id.addr, self.now, &mut self.rng);
            EventKind::Failed
        };
        self.emit(kind, id, incarnation);
        self.notes.push_back((id, MemberChange::Down));
        self.dissemination.enqueue(MemberUpdate {
            node: id,
            state,
            incarnation,
        });
    }

    pub(crate) fn my_incarnation(&self) -> Incarnation {
        self.list
            .get(&self.me)
            .map(|m| m.incarnation)
            .unwrap_or_default()
    }

    /// Another version of this node's own address: an older one is gone
    /// already; a newer one means this process was replaced (fail-stop), so
    /// it must rejoin. Returns whether `id` was such a version.
    fn other_version_of_me(&mut self, id: &NodeId, from: Option<SocketAddr>) -> bool {
        if id.addr != self.me.addr || *id == self.me {
            return false;
        }
        if id.version > self.me.version && !self.left {
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
        if self.must_rejoin.is_none() {
            self.must_rejoin = Some(Rejoin { cause, via });
        }
        self.outgoing.clear();
    }

    /// Applies what another member says about one member.
    pub(crate) fn apply(&mut self, update: MemberUpdate, from: Option<SocketAddr>) {
        let id = update.node;
        if id == self.me {
            self.apply_about_me(update, from);
            return;
        }
        if self.other_version_of_me(&id, from) {
            return;
        }
        if !self.plausible.version(id.version, self.now) {
            self.stats.absurd_updates += 1;
            return;
        }
        let (standing, listed) = self.list.lookup(&id);
        let known = listed
            .filter(|m| m.id == id)
            .map(|m| (m.state, m.incarnation));
        let older = listed.map(|m| m.id).filter(|m| m.is_superseded_by(&id));
        if !Plausibility::incarnation(known.map(|k| k.1), update.incarnation) {
            self.stats.absurd_updates += 1;
            return;
        }
        match standing {
            Standing::Gone => {}
            Standing::Unknown => match update.state {
                // A suspicion of a member never heard of is learnt as
                // alive, as memberlist ignores it: a timer started on
                // hearsay alone, by a node that never saw the member live,
                // would have only gossip to bring the refutation in time
                // (in a join storm, one such timer in 20 runs of 1,000
                // nodes ran out and the whole cluster marked a live member
                // failed). A member that really died is still declared
                // failed here by the `failed` news of those who watched it.
                MemberState::Alive | MemberState::Suspect => {
                    self.learn_over(id, update.incarnation, older);
                }
                // Never knew it alive: just remember it is gone (and, if it
                // failed, knock there now and then: it may be the other
                // side of a partition).
                MemberState::Failed | MemberState::Left => {
                    if let Some(old) = older {
                        self.supersede(old);
                    }
                    self.list.bury(&id);
                    if update.state == MemberState::Failed {
                        self.reconnect.remember(id.addr, self.now, &mut self.rng);
                    }
                }
            },
            Standing::Known => {
                let (state, current) = known.expect("standing Known comes with the member's entry");
                if state == update.state && current == update.incarnation {
                    if state == MemberState::Suspect {
                        self.trace(id, current, Clue::Confirmed { from });
                    }
                    let limit =
                        retransmit_limit(self.config.retransmit_mult.get(), self.list.live_count());
                    let floor = self.config.retransmit_mult.get();
                    self.dissemination.heard_again(&update, floor, limit);
                    return;
                }
                let cleared = self.list.cleared_upto(&id);
                match (state, update.state) {
                    (MemberState::Failed, MemberState::Left) => self.failed_member_left(id, from),
                    (MemberState::Failed, _) => {}
                    (MemberState::Left, MemberState::Suspect | MemberState::Failed) => {
                        // Someone missed the leave: tell it again, so that no
                        // one ever records this member as failed.
                        self.dissemination.enqueue(MemberUpdate {
                            node: id,
                            state: MemberState::Left,
                            incarnation: current,
                        });
                    }
                    (MemberState::Left, _) => {}
                    (_, MemberState::Failed) if update.incarnation < current => {
                        // Declared on a suspicion the member has since
                        // refuted: stale (memberlist drops it too). The one
                        // member that declared it holds it as final; the
                        // member hears so when it next talks to that one,
                        // and rejoins under a new version.
                        self.stats.stale_failures += 1;
                    }
                    (_, MemberState::Failed) => {
                        let verdict = Verdict::Hearsay { from };
                        self.trace(id, update.incarnation, Clue::Failed { verdict });
                        self.mark_final(id, MemberState::Failed, update.incarnation)
                    }
                    (_, MemberState::Left) => {
                        self.mark_final(id, MemberState::Left, update.incarnation)
                    }
                    (MemberState::Alive, MemberState::Alive) => {
                        if update.incarnation > current {
                            self.list.set_state(
                                &id,
                                MemberState::Alive,
                                update.incarnation,
                                self.now,
                            );
                            self.dissemination.enqueue(update);
                        }
                    }
                    (MemberState::Alive, MemberState::Suspect) => {
                        let cleared = cleared.is_some_and(|c| c >= update.incarnation);
                        if update.incarnation >= current && !cleared {
                            let accuser = Accuser::Hearsay { from };
                            self.trace(id, update.incarnation, Clue::Suspected { accuser });
                            self.mark_suspect(id, update.incarnation, false);
                        }
                    }
                    (MemberState::Suspect, MemberState::Alive) => {
                        if update.incarnation > current {
                            self.trace(id, update.incarnation, Clue::Refuted { from });
                            self.mark_refuted(id, update.incarnation);
                        }
                    }
                    (MemberState::Suspect, MemberState::Suspect) => {
                        if update.incarnation > current {
                            // Same suspicion, newer incarnation: keep the timer.
                            self.list.set_state(
                                &id,
                                MemberState::Suspect,
                                update.incarnation,
                                self.now,
                            );
                            self.dissemination.enqueue(update);
                        }
                    }
                }
            }
        }
    }

    fn apply_about_me(&mut self, update: MemberUpdate, from: Option<SocketAddr>) {
        if self.left {
            return;
        }
        if !Plausibility::incarnation(Some(self.my_incarnation()), update.incarnation) {
            self.stats.absurd_updates += 1;
            return;
        }
        match update.state {
            MemberState::Alive => {}
            MemberState::Suspect => {
                let mine = self.my_incarnation();
                if update.incarnation >= mine {
                    let refuted = update.incarnation.next();
                    self.list
                        .set_state(&self.me.clone(), MemberState::Alive, refuted, self.now);
                    self.stats.self_refutations += 1;
                    // Lifeguard: being suspected hints that the trouble may
                    // be on this node's side; the detector may weigh that.
                    self.notes.push_back((self.me, MemberChange::Suspected));
                    self.dissemination.enqueue(MemberUpdate {
                        node: self.me,
                        state: MemberState::Alive,
                        incarnation: refuted,
                    });
                }
                // Answer the suspecter directly: the refutation reaches it in
                // one hop instead of by gossip.
                if let Some(to) = from {
                    let alive = MemberUpdate {
                        node: self.me,
                        state: MemberState::Alive,
                        incarnation: self.my_incarnation(),
                    };
                    self.send_updates(to, vec![alive]);
                }
            }
            // Declared failed (or a stale "left" of a version that never
            // left): fail-stop, this version is over.
            MemberState::Failed | MemberState::Left => {
                let by = from.unwrap_or(self.me.addr);
                self.rejoin(RejoinCause::DeclaredFailed { by }, from);
            }
        }
    }

    /// Checks the sender of a message: learns it if new, and tells it if it
    /// is known gone. Returns whether it counts as a live member.
    fn check_sender(&mut self, sender: NodeId, from: SocketAddr) -> bool {
        if sender.addr != from {
            // Every member sends from the address in its id; a message that
            // names someone else is forged or misrouted.
            self.stats.misattributed += 1;
            return false;
        }
        if sender == self.me || self.other_version_of_me(&sender, Some(from)) {
            return false;
        }
        if !self.plausible.version(sender.version, self.now) {
            self.stats.absurd_updates += 1;
            return false;
        }
        match self.list.lookup(&sender) {
            (Standing::Unknown, listed) => {
                let older = listed.map(|m| m.id);
                self.learn_over(sender, Incarnation(0), older)
            }
            (Standing::Known, listed) => {
                let member = listed.expect("standing Known comes with the member's entry");
                if member.is_live() {
                    return true;
                }
                let update = member.update();
                self.stats.from_dead += 1;
                if update.state == MemberState::Failed {
                    self.tell_gone(from, update, false);
                }
                false
            }
            (Standing::Gone, _) => {
                self.stats.from_dead += 1;
                let update = MemberUpdate {
                    node: sender,
                    state: MemberState::Failed,
                    incarnation: Incarnation(0),
                };
                self.tell_gone(from, update, false);
                false
            }
        }
    }

    /// Tells the member at `to` that it is gone in this node's view.
    fn tell_gone(&mut self, to: SocketAddr, member: MemberUpdate, reply: bool) {
        let gone = Gossip::Gone {
            sender: self.me,
            member,
            live: u32::try_from(self.list.live_count()).unwrap_or(u32::MAX),
            reply,
        };
        self.push_transmit(to, gone);
    }

    /// A member at `from` holds this node dead. Fail-stop says this version
    /// is over, and usually it is: the node rejoins under a new version,
    /// through that member. But when the two hold each other dead (two
    /// sides of a healed partition), or the other's view is less than half
    /// of ours (a member that was cut off alone), the smaller view yields:
    /// this node tells the other to rejoin instead, with a `Gone` of its
    /// own. Ties go to the lower address. A `Gone` that answers a `Gone`
    /// gets no answer, so two nodes with stale counts cannot bounce
    /// forever; the next message between them starts over with fresher
    /// counts.
    fn on_gone(
        &mut self,
        from: SocketAddr,
        sender: NodeId,
        about: MemberUpdate,
        their_live: u32,
        reply: bool,
    ) {
        if sender.addr != from || sender == self.me {
            self.stats.misattributed += 1;
            return;
        }
        if about.node != self.me {
            // About another version of this address: a newer one means this
            // process was replaced; an older one is stale news.
            if !self.other_version_of_me(&about.node, Some(from)) {
                self.stats.unexpected += 1;
            }
            return;
        }
        if self.left {
            return;
        }
        if !self.plausible.version(sender.version, self.now) {
            self.stats.absurd_updates += 1;
            return;
        }
        let (standing, listed) = self.list.lookup(&sender);
        let holds_live = standing == Standing::Known && listed.is_some_and(|m| m.is_live());
        let ours = u32::try_from(self.list.live_count()).unwrap_or(u32::MAX);
        let we_outweigh = if holds_live {
            u64::from(their_live) * 2 < u64::from(ours)
        } else {
            ours > their_live || (ours == their_live && self.me.addr < sender.addr)
        };
        if !we_outweigh {
            let cause = RejoinCause::Gone {
                by: sender,
                its_view: their_live,
                our_view: ours,
            };
            self.rejoin(cause, Some(from));
            return;
        }
        self.stats.outweighed_peers += 1;
        if reply {
            return;
        }
        let member = match listed.filter(|m| m.id == sender && !m.is_live()) {
            Some(m) => m.update(),
            None => MemberUpdate {
                node: sender,
                state: MemberState::Failed,
                incarnation: listed
                    .filter(|m| m.id == sender)
                    .map(|m| m.incarnation)
                    .unwrap_or_default(),
            },
        };
        self.notices.push_back(Notice::OutweighedPeer {
            peer: sender,
            its_view: their_live,
            our_view: ours,
        });
        self.tell_gone(from, member, true);
    }

    // ----- opinions of the local detector -------------------------------

    pub(crate) fn fail(&mut self, id: NodeId) {
        if id == self.me {
            return;
        }
        if let Some(member) = self.list.get(&id) {
            if member.is_live() {
                let incarnation = member.incarnation;
                let verdict = Verdict::Detector;
                self.trace(id, incarnation, Clue::Failed { verdict });
                self.stats.failures_declared += 1;
                self.mark_final(id, MemberState::Failed, incarnation);
            }
        }
    }

    // ----- time ----------------------------------------------------------

    fn fire_timers(&mut self) {
        while let Some(Reverse((at, timer))) = self.timers.peek().copied() {
            if at > self.now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::SuspectExpire { member, hearsay } => {
                    self.suspicion_expired(member, at, hearsay)
                }
                Timer::SuspectNotice(id, left) => self.suspect_notice(id, left),
                Timer::Remove(id) => {
                    let due = self.list.get(&id).is_some_and(|m| !m.is_live())
                        && self.list.deadline(&id) == Some(at);
                    if due {
                        let member = self.list.remove(&id).expect("checked listed just above");
                        self.dissemination.forget(&id);
                        self.emit(EventKind::Removed, id, member.incarnation);
                    }
                }
            }
        }
    }

    /// After a leave: keep gossiping the news a few rounds.
    fn leave_gossip(&mut self) {
        let mut targets = Vec::new();
        self.list
            .choose_live(&mut self.rng, self.config.fanout.get(), &[], &mut targets);
        for to in targets {
            let updates = self.piggyback(self.updates_budget(), Some(&to));
            if updates.is_empty() {
                self.next_leave_gossip = None;
                return;
            }
            self.send_updates(to.addr, updates);
        }
    }

    fn tick_core(&mut self) {
        self.step_join();
        if !self.joined {
            return;
        }
        self.fire_timers();
        if self.left {
            if let Some(at) = self.next_leave_gossip {
                if at <= self.now {
                    self.leave_gossip();
                    if self.next_leave_gossip.is_some() {
                        self.next_leave_gossip = Some(self.now + self.config.heartbeat);
                    }
                }
            }
            return;
        }
        if self.now >= self.next_sync {
            self.sync();
            self.next_sync = self.now + self.config.sync_interval;
        }
        let live = self.list.live_count();
        if let Some(to) = self.reconnect.due(self.now, live, &mut self.rng) {
            self.stats.reconnect_attempts += 1;
            self.knock(to);
        }
    }

    /// Moves the join under way along: asks the next introducer, notes
    /// timeouts, or gives a rejoin up for a cluster of one.
    pub(crate) fn step_join(&mut self) {
        while let Some(joining) = &mut self.joining {
            match joining.step(self.now, &mut self.rng) {
                JoinStep::Wait => return,
                JoinStep::Ask { to, nonce } => {
                    let rejoin = joining.is_rejoin() && !self.joined;
                    self.notices.push_back(Notice::JoinAsked {
                        introducer: to,
                        rejoin,
                    });
                    let request = Gossip::JoinRequest {
                        node: self.me,
                        nonce,
                    };
                    self.push(to, Body::Message(request), Channel::Request);
                    return;
                }
                JoinStep::TimedOut { to } => {
                    self.notices
                        .push_back(Notice::JoinUnanswered { introducer: to });
                }
                JoinStep::GoAlone => {
                    self.joining = None;
                    if !self.joined {
                        self.joined = true;
                        self.notices.push_back(Notice::Alone);
                    }
                    return;
                }
            }
        }
    }

    /// Takes a version newer than the current one, `at_least` and any seen
    /// of this address, with a list holding only itself. Returns the new id.
    fn renew_version(&mut self, at_least: Version) -> NodeId {
        let newest = self.me.version.max(self.newest_own_version).max(at_least);
        let me = NodeId::new(self.me.addr, Version(newest.0.saturating_add(1)));
        self.me = me;
        self.newest_own_version = me.version;
        self.list = MemberList::new(me, self.now);
        self.dissemination = Dissemination::default();
        self.timers.clear();
        self.notes.clear();
        self.outgoing.clear();
        self.next_leave_gossip = None;
        self.digest_cursor = 0;
        self.emit(EventKind::Joined, me, Incarnation(0));
        me
    }

    fn next_timeout(&self) -> Option<Time> {
        let join = self.joining.as_ref().map(Joining::deadline);
        if !self.joined {
            return join;
        }
        let timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let periodic = if self.left {
            self.next_leave_gossip
        } else {
            Some(self.next_sync.min(self.reconnect.deadline()))
        };
        [join, timer, periodic].into_iter().flatten().min()
    }
}

/// A random offset in `[0, period)`, so that members started together do not
/// act in lock-step.
pub(crate) fn jitter<R: rand::Rng + ?Sized>(rng: &mut R, period: Duration) -> Duration {
    let nanos = period.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.random_range(0..nanos))
}

/// Gives back the memory of a queue that a burst (a join response of
/// thousands of members) grew, once it is empty again.
fn shrink_idle<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > 256 {
        queue.shrink_to(16);
    }
}

/// How a [`Membership`] starts: its configuration, its seed, and what the
/// driver adds to every datagram.
pub struct Builder {
    me: NodeId,
    detector: Box<dyn FailureDetector>,
    config: Config,
    seed: u64,
    packet_overhead: usize,
    provenance: usize,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("me", &self.me)
            .field("detector", &self.detector.name())
            .field("seed", &self.seed)
            .field("packet_overhead", &self.packet_overhead)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// The seed of every random choice (default 0).
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    /// Bytes the driver adds to every datagram after the core's envelope
    /// (an AEAD's header and tag, say): the core keeps every datagram
    /// within `Config::datagram_limit` less this.
    pub fn packet_overhead(mut self, bytes: usize) -> Builder {
        self.packet_overhead = bytes;
        self
    }

    /// How many members' histories [`Membership::history`] keeps (default
    /// 128; 0 keeps none, as a simulator of thousands of nodes may want).
    pub fn provenance(mut self, members: usize) -> Builder {
        self.provenance = members;
        self
    }

    /// Checks the configuration and starts the node, alone in its own
    /// cluster, at `now`.
    pub fn start(self, now: Time) -> Result<Membership, crate::MembershipError> {
        self.config.validate()?;
        let room = self
            .config
            .datagram_limit
            .saturating_sub(self.packet_overhead);
        if room < crate::config::MIN_DATAGRAM_ROOM {
            return Err(crate::MembershipError::InvalidConfig {
                key: "datagram_limit",
                problem: "leaves less than 512 bytes after the driver's packet overhead",
            });
        }
        let name: Arc<str> = Arc::from(self.detector.name());
        let mut membership = Membership {
            core: Core::new(
                self.me,
                self.config,
                name,
                self.seed,
                self.packet_overhead,
                now,
            ),
            detector: self.detector,
        };
        membership.core.provenance = Provenance::new(self.provenance);
        membership.with_detector(|detector, ctx| detector.tick(ctx));
        membership.settle();
        Ok(membership)
    }
}

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
            .field("me", &self.core.me)
            .field("detector", &self.core.detector_name)
            .field("members", &self.core.list.len())
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
        Builder {
            me,
            detector,
            config: Config::default(),
            seed: 0,
            packet_overhead: 0,
            provenance: Provenance::DEFAULT_MEMBERS,
        }
    }

    /// This node's identity.
    pub fn id(&self) -> NodeId {
        self.core.me
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// The name of the detector in use, as it appears in events.
    pub fn detector_name(&self) -> &str {
        &self.core.detector_name
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
        let core = &mut self.core;
        core.now = now;
        let mut candidates: Vec<SocketAddr> = Vec::with_capacity(introducers.len());
        for addr in introducers {
            if addr != core.me.addr && !candidates.contains(&addr) {
                candidates.push(addr);
            }
        }
        if candidates.is_empty() || core.left || core.must_rejoin.is_some() {
            return;
        }
        let first = core.list.len() == 1;
        if first {
            core.joined = false;
        }
        core.joining = Some(Joining::new(candidates, !first, now));
        core.step_join();
    }

    /// The addresses this node goes back to when its view shrinks to
    /// itself or holds fewer live members than it remembers failed (the
    /// agent's `--join` list), and asks after the member that told it to
    /// rejoin. This node's own address is ignored.
    pub fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        let me = self.core.me.addr;
        self.core
            .reconnect
            .set_seeds(seeds.into_iter().filter(|a| *a != me).collect());
    }

    /// Sends `addr` an anti-entropy digest now: if another cluster runs
    /// there, the two member lists merge by push-pull (`rumor join` on a
    /// running agent).
    pub fn contact(&mut self, now: Time, addr: SocketAddr) {
        self.core.now = now;
        if self.core.joined && !self.core.left && addr != self.core.me.addr {
            self.core.digest_to(addr);
        }
    }

    /// The driver could not deliver a [`Channel::Request`] to `to` (the
    /// stream was refused, or closed without an answer): a join waiting for
    /// `to` moves on at once instead of waiting out its timeout.
    pub fn handle_unreachable(&mut self, now: Time, to: SocketAddr) {
        self.core.now = now;
        let gave_up = self.core.joining.as_mut().is_some_and(|j| j.give_up_on(to));
        if gave_up {
            self.core
                .notices
                .push_back(Notice::JoinUnanswered { introducer: to });
            self.core.step_join();
        }
    }

    /// Introducer side of a join (the request came over a stream): records
    /// and disseminates the join and returns the answer, which the driver
    /// sends back on the same stream: a `JoinResponse` with the member list
    /// (newest changes first, bounded by `Config::join_response_limit`), or
    /// a `JoinRefused` saying what the joiner should do next. Both echo
    /// `nonce`.
    pub fn handle_join_request(&mut self, now: Time, joiner: NodeId, nonce: u64) -> Gossip {
        let core = &mut self.core;
        core.now = now;
        let refuse = |reason: String, retry: JoinRetry| Gossip::JoinRefused {
            nonce,
            reason,
            retry,
        };
        if core.must_rejoin.is_some() || core.left || !core.joined {
            return refuse(
                format!("{} is leaving or rejoining the cluster", core.me),
                JoinRetry::Elsewhere,
            );
        }
        if joiner.addr == core.me.addr {
            return refuse(
                format!("{joiner} has the introducer's own address"),
                JoinRetry::Elsewhere,
            );
        }
        if !core.plausible.version(joiner.version, now) {
            core.stats.absurd_updates += 1;
            return refuse(
                format!(
                    "{joiner}: a version that far ahead of this member's clock is refused (is the joiner's clock wrong?)"
                ),
                JoinRetry::Elsewhere,
            );
        }
        match core.list.lookup(&joiner) {
            (Standing::Gone, _) => {
                let newest = core
                    .list
                    .newest_version_at(&joiner.addr)
                    .max(joiner.version);
                return refuse(
                    format!("{joiner} is not newer than a version of its address already gone"),
                    JoinRetry::NewerThan(newest),
                );
            }
            (Standing::Known, listed) => {
                if !listed.is_some_and(|m| m.is_live()) {
                    return refuse(
                        format!("{joiner} was declared failed or left"),
                        JoinRetry::NewerThan(joiner.version),
                    );
                }
            }
            (Standing::Unknown, _) => {
                if !core.learn(joiner, Incarnation(0)) {
                    return refuse(
                        format!(
                            "{} lists {} members already (max_members)",
                            core.me, core.config.max_members
                        ),
                        JoinRetry::Elsewhere,
                    );
                }
            }
        }
        self.flush_notes();
        let members = self
            .core
            .list
            .join_response(self.core.config.join_response_limit.saturating_sub(64));
        Gossip::JoinResponse {
            introducer: self.core.me,
            nonce,
            members,
        }
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
        let core = &mut self.core;
        core.now = now;
        if core.list.len() != 1 || core.left || core.must_rejoin.is_some() || !core.joined {
            return false;
        }
        let Some(list) = peer.core.list.copy_for(core.me) else {
            return false;
        };
        core.list = list;
        let timers: Vec<(Time, Timer)> = core
            .list
            .with_deadlines()
            .map(|(member, at)| {
                if member.state == MemberState::Suspect {
                    let timer = Timer::SuspectExpire {
                        member: member.id,
                        hearsay: true,
                    };
                    (at, timer)
                } else {
                    (at, Timer::Remove(member.id))
                }
            })
            .collect();
        for (at, timer) in timers {
            core.schedule(at, timer);
        }
        // The detector hears of each member straight from the table, in
        // table order: a notes queue of every member would be allocated
        // and freed again for each of a simulator's thousands of nodes.
        let me = core.me;
        for at in 0..core.list.slot_count() {
            let Some(member) = self.core.list.in_slot(at) else {
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
        self.core.now = now;
        self.check_stall(now);
        self.core.stats.messages_received += 1;
        if self.core.must_rejoin.is_some() {
            return;
        }
        match message {
            Gossip::JoinResponse {
                introducer,
                nonce,
                members,
            } => self.on_join_response(from, introducer, nonce, members),
            Gossip::JoinRefused {
                nonce,
                reason,
                retry,
            } => self.on_join_refused(from, nonce, reason, retry),
            _ if !self.core.joined => self.core.stats.while_joining += 1,
            Gossip::Gone {
                sender,
                member,
                live,
                reply,
            } => self.core.on_gone(from, sender, member, live, reply),
            Gossip::Leave { node, incarnation } => {
                if node.addr != from {
                    // Only a member itself leaves.
                    self.core.stats.misattributed += 1;
                } else {
                    let left = MemberUpdate {
                        node,
                        state: MemberState::Left,
                        incarnation,
                    };
                    self.core.apply(left, Some(from));
                }
            }
            Gossip::Updates { sender, updates } => {
                if self.core.check_sender(sender, from) {
                    for update in updates {
                        self.core.apply(update, Some(from));
                    }
                }
            }
            Gossip::Digest {
                sender,
                reply,
                buckets,
                first,
                summaries,
            } => {
                if self.core.check_sender(sender, from) && !self.core.left {
                    self.core
                        .answer_digest(from, reply, buckets, first, &summaries);
                }
            }
            Gossip::Detector {
                detector,
                sender,
                payload,
                updates,
            } => {
                if *detector != *self.core.detector_name {
                    self.core.stats.foreign_detector += 1;
                } else if self.core.check_sender(sender, from) && !self.core.left {
                    // The news the sender's core piggybacked, before the
                    // detector sees the payload (it may be about the sender).
                    for update in updates {
                        self.core.apply(update, Some(from));
                    }
                    self.flush_notes();
                    if self.core.must_rejoin.is_some() || self.core.left {
                        self.settle();
                        return;
                    }
                    let result =
                        self.with_detector(|detector, ctx| detector.handle(ctx, sender, &payload));
                    if result.is_err() {
                        self.core.stats.malformed_payloads += 1;
                    }
                }
            }
            _ => self.core.stats.unexpected += 1,
        }
        self.settle();
    }

    fn on_join_response(
        &mut self,
        from: SocketAddr,
        introducer: NodeId,
        nonce: u64,
        members: Vec<MemberUpdate>,
    ) {
        let core = &mut self.core;
        let awaited = core
            .joining
            .as_ref()
            .is_some_and(|j| j.answers(from, nonce));
        if !awaited || introducer.addr != from {
            core.stats.unsolicited_join_answers += 1;
            return;
        }
        core.joining = None;
        core.joined = true;
        let listed = members.len();
        core.check_sender(introducer, from);
        core.applying_join_response = true;
        core.list.reserve_exact(members.len());
        // One `joined` event and one note per new member: grown once.
        core.events.reserve(members.len());
        core.notes.reserve(members.len());
        for update in members {
            core.apply(update, None);
        }
        core.applying_join_response = false;
        let me = core
            .list
            .get(&core.me)
            .expect("this node is always listed")
            .update();
        core.dissemination.enqueue(me);
        core.notices.push_back(Notice::Joined {
            introducer,
            members: listed,
        });
    }

    fn on_join_refused(&mut self, from: SocketAddr, nonce: u64, reason: String, retry: JoinRetry) {
        let core = &mut self.core;
        let Some(joining) = core.joining.as_mut().filter(|j| j.answers(from, nonce)) else {
            core.stats.unsolicited_join_answers += 1;
            return;
        };
        core.stats.join_refused += 1;
        match retry {
            JoinRetry::NewerThan(version)
                if !core.joined && core.plausible.renewal(version, core.now) =>
            {
                if joining.ask_again() {
                    core.renew_version(version);
                }
            }
            _ => {
                joining.give_up_on(from);
            }
        }
        core.notices
            .push_back(Notice::JoinRefused { by: from, reason });
        core.step_join();
    }

    /// Time passed: fire due timers and run the detector.
    pub fn tick(&mut self, now: Time) {
        self.core.now = now;
        self.check_stall(now);
        if self.core.must_rejoin.is_none() {
            self.core.tick_core();
            self.flush_notes();
            let core = &self.core;
            if core.joined && !core.left && core.must_rejoin.is_none() {
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
        let next = self.core.events.pop_front();
        if next.is_none() {
            shrink_idle(&mut self.core.events);
        }
        next
    }

    /// The next time [`Membership::tick`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Time> {
        let core = self.core.next_timeout();
        let detector = if self.core.left || !self.core.joined {
            None
        } else {
            self.detector.next_deadline()
        };
        [core, detector].into_iter().flatten().min()
    }

    /// The next notice about this node's own standing (joins, refusals,
    /// rejoins), if any.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.core.notices.pop_front()
    }

    /// Voluntary leave: records `left` for itself, tells up to 64 members
    /// directly with `Leave` messages and gossips the news for a few rounds,
    /// so that every member records `left` (never `failed`). Keep driving the
    /// core for about a second afterwards so the gossip goes out.
    pub fn leave(&mut self, now: Time) {
        self.core.now = now;
        if self.core.left || self.core.must_rejoin.is_some() {
            return;
        }
        if !self.core.joined {
            // Not a member of anything yet: nothing to announce.
            self.core.left = true;
            self.core.joining = None;
            return;
        }
        let me = self.core.me;
        let incarnation = self.core.my_incarnation();
        self.core.left = true;
        self.core
            .list
            .set_state(&me, MemberState::Left, incarnation, now);
        self.core.emit(EventKind::Left, me, incarnation);
        self.core.dissemination.enqueue(MemberUpdate {
            node: me,
            state: MemberState::Left,
            incarnation,
        });
        let mut targets = Vec::new();
        self.core
            .list
            .choose_live(&mut self.core.rng, LEAVE_DIRECT, &[], &mut targets);
        for to in targets {
            self.core.push_transmit(
                to.addr,
                Gossip::Leave {
                    node: me,
                    incarnation,
                },
            );
        }
        self.core.next_leave_gossip = Some(now + self.core.config.heartbeat);
        self.core.notes.clear();
    }

    /// Every known member, itself included, with state and incarnation,
    /// sorted by id.
    pub fn members(&self) -> Vec<MemberInfo> {
        self.core
            .list
            .iter_sorted()
            .into_iter()
            .map(|m| MemberInfo {
                node: m.id,
                state: m.state,
                incarnation: m.incarnation,
            })
            .collect()
    }

    /// Number of live (alive or suspected) members, itself included.
    pub fn live_count(&self) -> usize {
        self.core.list.live_count()
    }

    /// True while a first join or a rejoin waits to be admitted (the node
    /// then takes part in nothing else); false once it is a member of a
    /// cluster, its own included.
    pub fn is_joining(&self) -> bool {
        !self.core.joined
    }

    /// True after [`Membership::leave`].
    pub fn has_left(&self) -> bool {
        self.core.left
    }

    /// Counters since start.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// `member`'s recent history as this node saw it, oldest first: who
    /// accused it and on what evidence, confirmations, refutations, the
    /// verdict (see [`crate::Clue`]). Bounded; empty for a member with no
    /// suspicion on record.
    pub fn history(&self, member: &NodeId) -> Vec<Trace> {
        self.core.provenance.history(member)
    }

    /// The local health score the detector last reported (Lifeguard; 0 is
    /// healthy, and detectors without one stay at 0).
    pub fn local_health(&self) -> u32 {
        self.core.provenance.local_health()
    }

    /// Forces a failed (or suspected) `member` out: recorded `left` at
    /// once, no longer knocked at, and the news spreads (`rumor
    /// force-leave`).
    pub fn force_leave(&mut self, now: Time, member: NodeId) -> Result<(), crate::ForceLeaveError> {
        self.core.now = now;
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
        if self.core.must_rejoin.is_some() {
            self.rejoin();
        }
        self.core.expected = self.poll_timeout();
    }

    /// A call far past the deadline this node asked for: it did not run in
    /// between. Suspicions that ran out meanwhile are held open a little
    /// longer and the detector discounts the gap, so a paused member never
    /// declares others failed for a silence of its own making.
    fn check_stall(&mut self, now: Time) {
        let Some(due) = self.core.expected else {
            return;
        };
        let late = now.saturating_sub(due);
        if late <= STALL || !self.core.joined || self.core.left {
            return;
        }
        self.core.expected = None;
        self.core.stats.stalls += 1;
        self.core.postpone_suspicions(STALL_GRACE);
        self.with_detector(|d, ctx| d.stalled(ctx, late));
    }

    /// Fail-stop: this version is over. The detector forgets every member,
    /// the list starts again with only a new version of this node, and a
    /// rejoin asks, in order, the member that said so, the seeds, and a few
    /// members of the old view; with no answer from any, the node goes on
    /// alone and its reconnect attempts (which it keeps) look for the
    /// others. Counters, notices and the reconnect memory survive.
    fn rejoin(&mut self) {
        let Some(rejoin) = self.core.must_rejoin.take() else {
            return;
        };
        let mut candidates = Vec::new();
        candidates.extend(rejoin.via);
        for seed in self.core.reconnect.seeds() {
            if !candidates.contains(seed) {
                candidates.push(*seed);
            }
        }
        let mut others = Vec::new();
        let core = &mut self.core;
        core.list.choose_live(&mut core.rng, 8, &[], &mut others);
        candidates.extend(others.iter().map(|m| m.addr));
        candidates.dedup();
        let live: Vec<NodeId> = (0..core.list.live_len())
            .filter_map(|i| core.list.live_at(i))
            .collect();
        for member in live {
            self.with_detector(|d, ctx| d.member_changed(ctx, member, MemberChange::Down));
        }
        let core = &mut self.core;
        let old = core.me;
        let new = core.renew_version(old.version);
        core.stats.rejoins += 1;
        core.notices.push_back(Notice::Rejoining {
            old,
            new,
            cause: rejoin.cause,
        });
        core.joined = false;
        let mut seen = Vec::new();
        candidates.retain(|a| {
            *a != new.addr && !seen.contains(a) && {
                seen.push(*a);
                true
            }
        });
        core.joining = Some(Joining::new(candidates, true, core.now));
        core.step_join();
    }

    /// Tells the detector about member-list changes, including those its
    /// own reactions cause.
    fn flush_notes(&mut self) {
        while let Some((member, change)) = self.core.notes.pop_front() {
            if self.core.left || self.core.must_rejoin.is_some() {
                self.core.notes.clear();
                return;
            }
            self.with_detector(|detector, ctx| detector.member_changed(ctx, member, change));
        }
        shrink_idle(&mut self.core.notes);
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
    };
    core.handle(now, introducer.addr, answer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DetectorRegistry, DetectorSettings};

    fn id(port: u16, version: u64) -> NodeId {
        NodeId::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            rumor_wire::Version(version),
        )
    }

    fn core() -> Membership {
        let config = Config::default();
        let detector = DetectorRegistry::with_builtins()
            .create("gossip", &DetectorSettings::new(&config))
            .unwrap();
        Membership::new(id(1, 1), config, detector, 1, Time::ZERO).expect("a valid configuration")
    }

    fn tell(core: &mut Membership, now: Time, updates: &[(NodeId, MemberState, u64)]) {
        let updates = updates
            .iter()
            .map(|(node, state, inc)| MemberUpdate {
                node: *node,
                state: *state,
                incarnation: Incarnation(*inc),
            })
            .collect();
        core.handle(
            now,
            id(9, 1).addr,
            Gossip::Updates {
                sender: id(9, 1),
                updates,
            },
        );
    }

    fn kinds_about(core: &mut Membership, member: NodeId) -> Vec<EventKind> {
        std::iter::from_fn(|| core.poll_event())
            .filter(|e| e.member == member)
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn precedence_of_alive_and_suspect_by_incarnation() {
        let mut core = core();
        let x = id(2, 1);
        let t = Time::ZERO;
        tell(&mut core, t, &[(x, MemberState::Alive, 0)]);
        tell(&mut core, t, &[(x, MemberState::Suspect, 0)]);
        tell(&mut core, t, &[(x, MemberState::Alive, 0)]); // not newer: ignored
        tell(&mut core, t, &[(x, MemberState::Alive, 1)]); // refutes
        tell(&mut core, t, &[(x, MemberState::Suspect, 0)]); // stale: ignored
        assert_eq!(
            kinds_about(&mut core, x),
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Alive]
        );
        assert_eq!(core.stats().refutations, 1);
    }

    /// A core that learnt member `x` and then, from another member, that
    /// Drives `core` to `to` the way a punctual driver would: a tick at
    /// every deadline it asks for on the way (a tick far past one reads as
    /// a stall of this node).
    fn advance(core: &mut Membership, to: Time) {
        while let Some(at) = core.poll_timeout() {
            if at >= to {
                break;
            }
            core.tick(at);
        }
        core.tick(to);
    }

    /// `x` is suspected; with the suspicion timeout.
    fn hearsay_suspicion() -> (Membership, NodeId, Duration) {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
        let timeout = core.config().t_suspect;
        (core, x, timeout)
    }

    #[test]
    fn suspicion_runs_out_into_failure_then_removal() {
        let (mut core, x, timeout) = hearsay_suspicion();
        advance(&mut core, timeout - Duration::from_millis(1));
        assert_eq!(
            kinds_about(&mut core, x),
            vec![EventKind::Joined, EventKind::Suspected]
        );
        // Heard from another member: the suspect gets a last chance, told
        // directly, before the failure.
        while core.poll_message().is_some() {}
        advance(&mut core, timeout);
        assert!(kinds_about(&mut core, x).is_empty());
        assert_eq!(told_suspect(&mut core, x), 1);
        let grace = timeout / 4;
        advance(&mut core, timeout + grace / 2);
        assert_eq!(told_suspect(&mut core, x), 1, "told twice over the grace");
        advance(&mut core, timeout + grace);
        assert_eq!(kinds_about(&mut core, x), vec![EventKind::Failed]);
        assert_eq!(core.stats().last_chances, 1);
        let timeout = timeout + grace;
        let t_delete = core.config().t_delete;
        advance(&mut core, timeout + t_delete);
        assert_eq!(kinds_about(&mut core, x), vec![EventKind::Removed]);
        assert!(core.members().iter().all(|m| m.node != x));
        // Removed, but never back under the same version.
        tell(&mut core, timeout * 100, &[(x, MemberState::Alive, 5)]);
        assert!(kinds_about(&mut core, x).is_empty());
    }

    /// How many messages to `member` telling it that it is suspected were
    /// sent since the last call.
    fn told_suspect(core: &mut Membership, member: NodeId) -> usize {
        std::iter::from_fn(|| core.poll_message())
            .filter(|t| t.to == member.addr)
            .filter(|t| {
                matches!(&t.message, Gossip::Updates { updates, .. }
                    if updates.iter().any(|u| u.node == member && u.state == MemberState::Suspect))
            })
            .count()
    }

    #[test]
    fn a_suspect_answering_its_last_chance_is_not_declared_failed() {
        let (mut core, x, timeout) = hearsay_suspicion();
        while core.poll_message().is_some() {}
        advance(&mut core, timeout);
        assert_eq!(told_suspect(&mut core, x), 1);
        // The suspect's direct answer: alive at a higher incarnation.
        let answer = Gossip::Updates {
            sender: x,
            updates: vec![MemberUpdate {
                node: x,
                state: MemberState::Alive,
                incarnation: Incarnation(1),
            }],
        };
        core.handle(timeout + Duration::from_millis(2), x.addr, answer);
        advance(&mut core, timeout + timeout / 4 + Duration::from_millis(1));
        assert_eq!(
            kinds_about(&mut core, x),
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Alive]
        );
        assert_eq!(core.stats().failures_declared, 0);
    }

    #[test]
    fn a_suspicion_of_an_unknown_member_is_learnt_as_alive() {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
        let timeout = core.config().t_suspect;
        core.tick(timeout - Duration::from_millis(1));
        assert_eq!(kinds_about(&mut core, x), vec![EventKind::Joined]);
        // No timer ran from the hearsay (this node's own detector may
        // suspect it by now, but nothing runs out yet).
        core.tick(timeout + Duration::from_millis(1));
        assert!(!kinds_about(&mut core, x).contains(&EventKind::Failed));
        // Those who watched it die still get it declared failed here.
        tell(&mut core, timeout * 2, &[(x, MemberState::Failed, 0)]);
        assert_eq!(kinds_about(&mut core, x), vec![EventKind::Failed]);
    }

    #[test]
    fn a_failure_declared_on_a_refuted_suspicion_is_stale() {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 1)]); // refuted
        // Someone whose suspicion at 0 ran out before it heard the refutation.
        tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 0)]);
        assert_eq!(
            kinds_about(&mut core, x),
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Alive]
        );
        assert_eq!(core.stats().stale_failures, 1);
        // A failure at the current incarnation is final as ever.
        tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 1)]);
        assert_eq!(kinds_about(&mut core, x), vec![EventKind::Failed]);
    }

    #[test]
    fn failed_and_left_are_final() {
        let mut core = core();
        let (x, y) = (id(2, 1), id(3, 1));
        tell(
            &mut core,
            Time::ZERO,
            &[(x, MemberState::Alive, 0), (y, MemberState::Alive, 0)],
        );
        tell(
            &mut core,
            Time::ZERO,
            &[(x, MemberState::Failed, 0), (y, MemberState::Left, 0)],
        );
        tell(
            &mut core,
            Time::ZERO,
            &[
                (x, MemberState::Alive, 7),
                (x, MemberState::Left, 7),
                (y, MemberState::Failed, 7),
                (y, MemberState::Suspect, 7),
            ],
        );
        let events: Vec<Event> = std::iter::from_fn(|| core.poll_event()).collect();
        let kinds = |m: NodeId| -> Vec<EventKind> {
            events
                .iter()
                .filter(|e| e.member == m)
                .map(|e| e.kind)
                .collect()
        };
        // Failed takes nothing but a (forced) leave: see force_leave.rs.
        assert_eq!(
            kinds(x),
            vec![EventKind::Joined, EventKind::Failed, EventKind::Left]
        );
        assert_eq!(kinds(y), vec![EventKind::Joined, EventKind::Left]);
    }

    #[test]
    fn a_newer_version_supersedes_with_removed() {
        let mut core = core();
        let (old, new) = (id(2, 1), id(2, 2));
        tell(&mut core, Time::ZERO, &[(old, MemberState::Alive, 3)]);
        tell(&mut core, Time::ZERO, &[(new, MemberState::Alive, 0)]);
        let events: Vec<(NodeId, EventKind)> = std::iter::from_fn(|| core.poll_event())
            .map(|e| (e.member, e.kind))
            .filter(|(m, _)| m.addr == old.addr)
            .collect();
        assert_eq!(
            events,
            vec![
                (old, EventKind::Joined),
                (old, EventKind::Removed),
                (new, EventKind::Joined)
            ]
        );
        assert!(matches!(
            core.handle_join_request(Time::ZERO, old, 1),
            Gossip::JoinRefused { .. }
        ));
    }

    #[test]
    fn a_local_suspicion_tells_the_suspect_directly() {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
        while core.poll_message().is_some() {}
        core.core.suspect(x);
        let notice = core.poll_message().expect("a direct notice");
        assert_eq!(notice.to, x.addr);
        let Gossip::Updates { updates, .. } = notice.message else {
            panic!("notice is an Updates message");
        };
        assert_eq!(updates[0].state, MemberState::Suspect);
        assert_eq!(core.stats().suspicions, 1);
    }

    #[test]
    fn a_suspected_node_refutes_and_answers_the_sender() {
        let mut core = core();
        tell(
            &mut core,
            Time::ZERO,
            &[(id(1, 1), MemberState::Suspect, 0)],
        );
        let reply = core.poll_message().expect("a direct refutation");
        assert_eq!(reply.to, id(9, 1).addr);
        let Gossip::Updates { updates, .. } = reply.message else {
            panic!("refutation is an Updates message");
        };
        assert_eq!(updates[0].node, id(1, 1));
        assert_eq!(updates[0].state, MemberState::Alive);
        assert_eq!(updates[0].incarnation, Incarnation(1));
        assert_eq!(core.stats().self_refutations, 1);
    }

    /// The join requests `core` sends, as (to, nonce, joining node).
    fn join_requests(core: &mut Membership) -> Vec<(SocketAddr, u64, NodeId)> {
        std::iter::from_fn(|| core.poll_message())
            .filter_map(|t| match t.message {
                Gossip::JoinRequest { node, nonce } => {
                    assert_eq!(t.channel, Channel::Request);
                    Some((t.to, nonce, node))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn declared_failed_means_a_rejoin_under_a_new_version_through_the_teller() {
        let mut core = core();
        tell(&mut core, Time::ZERO, &[(id(2, 1), MemberState::Alive, 0)]);
        while core.poll_message().is_some() {}
        tell(&mut core, Time::ZERO, &[(id(1, 1), MemberState::Failed, 0)]);
        let new = core.id();
        assert_eq!(new.addr, id(1, 1).addr);
        assert!(new.version > id(1, 1).version);
        assert_eq!(core.stats().rejoins, 1);
        assert!(core.is_joining());
        let asked = join_requests(&mut core);
        assert_eq!(asked.len(), 1, "one request at a time: {asked:?}");
        assert_eq!(asked[0].0, id(9, 1).addr, "the member that told us first");
        assert_eq!(asked[0].2, new);
        assert_eq!(core.members().len(), 1, "the old view is gone");
        let notices: Vec<Notice> = std::iter::from_fn(|| core.poll_notice()).collect();
        assert!(
            notices
                .iter()
                .any(|n| matches!(n, Notice::Rejoining { old, .. } if *old == id(1, 1))),
            "{notices:?}"
        );
        // While waiting to be admitted the node takes part in nothing else.
        tell(&mut core, Time::ZERO, &[(id(3, 1), MemberState::Alive, 0)]);
        assert_eq!(core.members().len(), 1);
        assert!(core.stats().while_joining >= 1);
    }

    #[test]
    fn a_rejoin_nobody_answers_goes_on_alone() {
        let mut core = core();
        tell(&mut core, Time::ZERO, &[(id(1, 1), MemberState::Failed, 0)]);
        let asked = join_requests(&mut core);
        core.handle_unreachable(Time::ZERO, asked[0].0);
        assert!(!core.is_joining(), "no other candidate: alone");
        assert!(std::iter::from_fn(|| core.poll_notice()).any(|n| n == Notice::Alone));
    }

    #[test]
    fn a_newer_version_of_our_own_address_means_rejoin_above_it() {
        let mut core = core();
        tell(&mut core, Time::ZERO, &[(id(1, 2), MemberState::Alive, 0)]);
        assert_eq!(core.stats().rejoins, 1);
        assert!(core.id().version > Version(2));
    }

    #[test]
    fn an_absurd_version_of_our_own_address_is_ignored() {
        let mut core = core();
        tell(
            &mut core,
            Time::ZERO,
            &[(id(1, u64::MAX), MemberState::Alive, 0)],
        );
        assert_eq!(core.stats().rejoins, 0);
        assert_eq!(core.id(), id(1, 1));
        assert_eq!(core.stats().absurd_updates, 1);
        // Nor can another member be superseded by one.
        tell(&mut core, Time::ZERO, &[(id(2, 5), MemberState::Alive, 0)]);
        tell(
            &mut core,
            Time::ZERO,
            &[(id(2, u64::MAX), MemberState::Alive, 0)],
        );
        assert!(core.members().iter().any(|m| m.node == id(2, 5)));
    }

    #[test]
    fn an_incarnation_that_leaps_is_ignored() {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 3)]);
        tell(
            &mut core,
            Time::ZERO,
            &[(x, MemberState::Suspect, u64::MAX)],
        );
        tell(
            &mut core,
            Time::ZERO,
            &[(id(1, 1), MemberState::Suspect, 1 << 40)],
        );
        assert_eq!(core.stats().absurd_updates, 2);
        assert_eq!(core.stats().self_refutations, 0);
        assert!(
            core.members()
                .iter()
                .any(|m| m.node == x && m.state == MemberState::Alive)
        );
    }

    #[test]
    fn join_answers_count_only_from_the_member_asked_for_this_request() {
        let mut joiner = core();
        let introducer = id(2, 1);
        joiner.join(Time::ZERO, vec![introducer.addr]);
        let (to, nonce, _) = join_requests(&mut joiner)[0];
        assert_eq!(to, introducer.addr);
        let forged = |nonce| Gossip::JoinRefused {
            nonce,
            reason: "go away".into(),
            retry: JoinRetry::Elsewhere,
        };
        // A forger that guessed who was asked but not the nonce, and one
        // that sends from elsewhere with the right nonce.
        joiner.handle(Time::ZERO, introducer.addr, forged(nonce ^ 1));
        joiner.handle(Time::ZERO, id(3, 1).addr, forged(nonce));
        assert_eq!(joiner.stats().unsolicited_join_answers, 2);
        assert!(joiner.is_joining());
        let answer = Gossip::JoinResponse {
            introducer,
            nonce,
            members: vec![MemberUpdate {
                node: introducer,
                state: MemberState::Alive,
                incarnation: Incarnation(0),
            }],
        };
        joiner.handle(Time::ZERO, introducer.addr, answer.clone());
        assert!(!joiner.is_joining());
        assert_eq!(joiner.members().len(), 2);
        // The same answer again is not awaited any more.
        joiner.handle(Time::ZERO, introducer.addr, answer);
        assert_eq!(joiner.stats().unsolicited_join_answers, 3);
    }

    #[test]
    fn a_stale_version_refusal_renews_the_version_and_asks_again() {
        let mut joiner = core();
        let introducer = id(2, 1);
        joiner.join(Time::ZERO, vec![introducer.addr]);
        let (_, nonce, _) = join_requests(&mut joiner)[0];
        joiner.handle(
            Time::ZERO,
            introducer.addr,
            Gossip::JoinRefused {
                nonce,
                reason: "stale".into(),
                retry: JoinRetry::NewerThan(Version(40)),
            },
        );
        let again = join_requests(&mut joiner);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0, introducer.addr);
        assert!(again[0].2.version > Version(40));
        assert_eq!(joiner.id(), again[0].2);
    }

    #[test]
    fn the_smaller_view_yields_when_two_sides_hold_each_other_dead() {
        // a holds b failed and b holds a failed; a's view is larger.
        let mut a = core(); // id(1, 1)
        let b = id(2, 1);
        let extra: Vec<_> = (10..15)
            .map(|p| (id(p, 1), MemberState::Alive, 0))
            .collect();
        tell(&mut a, Time::ZERO, &extra);
        tell(&mut a, Time::ZERO, &[(b, MemberState::Alive, 0)]);
        tell(&mut a, Time::ZERO, &[(b, MemberState::Failed, 0)]);
        while a.poll_message().is_some() {}
        let gone = |reply| Gossip::Gone {
            sender: b,
            member: MemberUpdate {
                node: id(1, 1),
                state: MemberState::Failed,
                incarnation: Incarnation(0),
            },
            live: 2,
            reply,
        };
        a.handle(Time::ZERO, b.addr, gone(false));
        assert_eq!(a.stats().rejoins, 0, "the larger view stays");
        let answer = a.poll_message().expect("a Gone back to b");
        assert!(
            matches!(answer.message, Gossip::Gone { reply: true, member, .. } if member.node == b)
        );
        // A reply is not answered again.
        a.handle(Time::ZERO, b.addr, gone(true));
        assert!(a.poll_message().is_none());
        // The smaller view yields.
        let mut small = core();
        tell(&mut small, Time::ZERO, &[(b, MemberState::Alive, 0)]);
        tell(&mut small, Time::ZERO, &[(b, MemberState::Failed, 0)]);
        let big = Gossip::Gone {
            sender: b,
            member: MemberUpdate {
                node: id(1, 1),
                state: MemberState::Failed,
                incarnation: Incarnation(0),
            },
            live: 40,
            reply: true,
        };
        small.handle(Time::ZERO, b.addr, big);
        assert_eq!(small.stats().rejoins, 1);
        let asked = join_requests(&mut small);
        assert_eq!(asked[0].0, b.addr, "rejoins through the larger side");
    }

    #[test]
    fn a_member_cut_off_alone_cannot_pull_a_live_member_out_of_its_cluster() {
        // x lists c alive in a view of 7; c, alone, holds x dead.
        let mut x = core();
        let c = id(2, 1);
        let others: Vec<_> = (10..15)
            .map(|p| (id(p, 1), MemberState::Alive, 0))
            .collect();
        tell(&mut x, Time::ZERO, &others);
        tell(&mut x, Time::ZERO, &[(c, MemberState::Alive, 0)]);
        while x.poll_message().is_some() {}
        x.handle(
            Time::ZERO,
            c.addr,
            Gossip::Gone {
                sender: c,
                member: MemberUpdate {
                    node: id(1, 1),
                    state: MemberState::Failed,
                    incarnation: Incarnation(0),
                },
                live: 1,
                reply: false,
            },
        );
        assert_eq!(x.stats().rejoins, 0);
        let told = x.poll_message().expect("c is told to rejoin instead");
        assert_eq!(told.to, c.addr);
        assert!(matches!(told.message, Gossip::Gone { member, .. } if member.node == c));
    }

    #[test]
    fn a_false_positive_victim_still_rejoins() {
        // The cluster (9 live) declared v failed; v still lists them all.
        let mut v = core();
        let r = id(2, 1);
        let others: Vec<_> = (10..18)
            .map(|p| (id(p, 1), MemberState::Alive, 0))
            .collect();
        tell(&mut v, Time::ZERO, &others);
        tell(&mut v, Time::ZERO, &[(r, MemberState::Alive, 0)]);
        v.handle(
            Time::ZERO,
            r.addr,
            Gossip::Gone {
                sender: r,
                member: MemberUpdate {
                    node: id(1, 1),
                    state: MemberState::Failed,
                    incarnation: Incarnation(0),
                },
                live: 9,
                reply: false,
            },
        );
        assert_eq!(v.stats().rejoins, 1);
    }

    #[test]
    fn failed_members_are_tried_again_after_removal() {
        let mut core = core();
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 0)]);
        let later = core.config().t_delete + Duration::from_secs(60);
        let mut now = Time::ZERO;
        let mut knocked = 0;
        while now < later {
            now += Duration::from_millis(100);
            core.tick(now);
            knocked += std::iter::from_fn(|| core.poll_message())
                .filter(|t| t.to == x.addr && matches!(t.message, Gossip::Digest { .. }))
                .count();
        }
        assert!(core.members().iter().all(|m| m.node != x), "removed");
        // One attempt every 1-3 s over 90 s, shared between x and the
        // sender of `tell`, which the detector, never hearing from it,
        // declared failed too.
        let attempts = core.stats().reconnect_attempts;
        assert!((30..=90).contains(&attempts), "{attempts} attempts");
        assert!(knocked >= 10, "{knocked} attempts at x");
    }

    #[test]
    fn the_member_list_is_bounded() {
        let config = Config {
            max_members: 5,
            ..Config::default()
        };
        let detector = DetectorRegistry::with_builtins()
            .create("gossip", &DetectorSettings::new(&config))
            .unwrap();
        let mut core = Membership::new(id(1, 1), config, detector, 1, Time::ZERO)
            .expect("a valid configuration");
        let many: Vec<_> = (10..30)
            .map(|p| (id(p, 1), MemberState::Alive, 0))
            .collect();
        tell(&mut core, Time::ZERO, &many);
        assert_eq!(core.members().len(), 5);
        assert!(core.stats().members_refused >= 15);
        let refusal = core.handle_join_request(Time::ZERO, id(40, 1), 7);
        assert!(
            matches!(
                refusal,
                Gossip::JoinRefused {
                    nonce: 7,
                    retry: JoinRetry::Elsewhere,
                    ..
                }
            ),
            "{refusal:?}"
        );
    }

    /// A detector that records what the core tells it.
    struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<(NodeId, MemberChange)>>>);

    impl FailureDetector for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        fn member_changed(
            &mut self,
            _ctx: &mut DetectorContext<'_>,
            member: NodeId,
            change: MemberChange,
        ) {
            self.0.lock().unwrap().push((member, change));
        }
        fn handle(
            &mut self,
            _ctx: &mut DetectorContext<'_>,
            _sender: NodeId,
            _payload: &[u8],
        ) -> Result<(), crate::MembershipError> {
            Ok(())
        }
        fn tick(&mut self, _ctx: &mut DetectorContext<'_>) {}
        fn next_deadline(&self) -> Option<Time> {
            None
        }
    }

    #[test]
    fn the_detector_hears_of_every_change_including_its_own_suspicion() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut core = Membership::new(
            id(1, 1),
            Config::default(),
            Box::new(Recorder(seen.clone())),
            1,
            Time::ZERO,
        )
        .expect("a valid configuration");
        let x = id(2, 1);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
        tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 1)]);
        tell(
            &mut core,
            Time::ZERO,
            &[(id(1, 1), MemberState::Suspect, 0)],
        );
        tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 1)]);
        let seen = seen.lock().unwrap().clone();
        let about_x: Vec<MemberChange> = seen
            .iter()
            .filter(|(m, _)| *m == x)
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(
            about_x,
            vec![
                MemberChange::Joined,
                MemberChange::Suspected,
                MemberChange::Refuted,
                MemberChange::Down
            ]
        );
        assert!(seen.contains(&(id(1, 1), MemberChange::Suspected)));
        assert!(
            seen.iter()
                .all(|(m, c)| *m != id(1, 1) || *c == MemberChange::Suspected)
        );
    }

    #[test]
    fn leave_records_left_and_tells_members() {
        let mut core = core();
        tell(&mut core, Time::ZERO, &[(id(2, 1), MemberState::Alive, 0)]);
        while core.poll_event().is_some() {}
        while core.poll_message().is_some() {}
        core.leave(Time::ZERO);
        assert_eq!(kinds_about(&mut core, id(1, 1)), vec![EventKind::Left]);
        let leave = core.poll_message().expect("a Leave message");
        assert!(matches!(leave.message, Gossip::Leave { node, .. } if node == id(1, 1)));
        assert!(core.has_left());
    }

    #[test]
    fn adopting_a_view_copies_the_list_and_its_deadlines_without_events() {
        let t = Time::ZERO;
        let mut peer = core(); // id(1, 1)
        let (me, a, b, c) = (id(5, 1), id(2, 1), id(3, 1), id(4, 1));
        tell(
            &mut peer,
            t,
            &[
                (me, MemberState::Alive, 0),
                (a, MemberState::Alive, 0),
                (b, MemberState::Alive, 0),
                (c, MemberState::Alive, 0),
            ],
        );
        tell(&mut peer, t, &[(b, MemberState::Suspect, 0)]);
        tell(&mut peer, t, &[(c, MemberState::Failed, 0)]);

        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut node = Membership::new(
            me,
            Config::default(),
            Box::new(Recorder(seen.clone())),
            7,
            t,
        )
        .expect("a valid configuration");
        while node.poll_event().is_some() {}
        let stranger = Membership::new(
            id(6, 1),
            Config::default(),
            Box::new(Recorder(seen.clone())),
            7,
            t,
        )
        .expect("a valid configuration");
        assert!(
            !node.adopt_view(t, &stranger),
            "the stranger does not list this node"
        );
        assert_eq!(node.members().len(), 1);

        assert!(node.adopt_view(t, &peer));
        let view = |m: &Membership| -> Vec<(NodeId, MemberState, Incarnation)> {
            m.members()
                .iter()
                .map(|i| (i.node, i.state, i.incarnation))
                .collect()
        };
        assert_eq!(view(&node), view(&peer));
        assert_eq!(node.live_count(), peer.live_count());
        assert!(node.poll_event().is_none(), "nothing is news: no events");
        assert!(node.poll_message().is_none());
        let key = |(m, c): &(NodeId, MemberChange)| (*m, format!("{c:?}"));
        let mut told = seen.lock().unwrap().clone();
        told.sort_by_key(key);
        let mut expected = vec![
            (id(1, 1), MemberChange::Joined),
            (a, MemberChange::Joined),
            (b, MemberChange::Joined),
            (b, MemberChange::Suspected),
            (id(9, 1), MemberChange::Joined), // the sender of `tell`
        ];
        expected.sort_by_key(key);
        assert_eq!(told, expected);
        assert!(
            !node.adopt_view(t, &peer),
            "only a node that lists only itself adopts"
        );

        // The suspicion and the removal run out as they would at the peer.
        // (b's suspicion is hearsay here: b gets a last chance first.)
        // c's removal comes t_delete (30 s) after its failure; b's comes
        // t_delete after its suspicion runs out, a few seconds later.
        advance(&mut node, t + Duration::from_secs(31));
        assert!(node.members().iter().all(|m| m.node != c), "c was removed");
        assert!(
            node.members()
                .iter()
                .any(|m| m.node == b && m.state == MemberState::Failed),
            "b's suspicion ran out"
        );
    }

    fn recorded(me: NodeId) -> Membership {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        Membership::new(
            me,
            Config::default(),
            Box::new(Recorder(seen)),
            3,
            Time::ZERO,
        )
        .expect("a valid configuration")
    }

    fn ids(core: &Membership) -> Vec<NodeId> {
        core.members().iter().map(|m| m.node).collect()
    }

    /// The anti-entropy digest `core` sends when ticked at `now`, a sync
    /// interval after the last one.
    fn next_digest(core: &mut Membership, now: Time) -> Gossip {
        core.tick(now);
        std::iter::from_fn(|| core.poll_message())
            .map(|t| t.message)
            .find(|m| matches!(m, Gossip::Digest { .. }))
            .expect("a digest every sync interval")
    }

    /// Nodes a (port 1) and b (port 2), each alone, with detectors that
    /// only record.
    fn two_nodes() -> (NodeId, NodeId, Membership, Membership) {
        let (a_id, b_id) = (id(1, 1), id(2, 1));
        (a_id, b_id, recorded(a_id), recorded(b_id))
    }

    /// `port`'s member, alive at incarnation 0, as `tell` takes it.
    fn alive(port: u16) -> (NodeId, MemberState, u64) {
        (id(port, 1), MemberState::Alive, 0)
    }

    /// A view missing a third of the members (an extreme gap: a join
    /// storm leaves a few per node) is repaired a datagram per exchange.
    #[test]
    fn digests_repair_a_view_in_a_few_exchanges() {
        let (a_id, b_id, mut a, mut b) = two_nodes();
        let everyone: Vec<_> = (10..310).map(alive).chain([alive(1), alive(2)]).collect();
        tell(&mut b, Time::ZERO, &everyone);
        tell(&mut a, Time::ZERO, &everyone[100..]);
        // b knows a member failed that a still thinks alive.
        tell(&mut b, Time::ZERO, &[(id(250, 1), MemberState::Failed, 0)]);
        while a.poll_message().is_some() {}
        while b.poll_message().is_some() {}
        assert_eq!(ids(&a).len() + 100, ids(&b).len());

        let interval = a.config().sync_interval;
        let mut now = Time::ZERO;
        let mut exchanges = 0;
        while ids(&a) != ids(&b) {
            exchanges += 1;
            assert!(
                exchanges <= 8,
                "not repaired after {} exchanges",
                exchanges - 1
            );
            let known = ids(&a).len();
            now += interval;
            b.handle(now, a_id.addr, next_digest(&mut a, now));
            while let Some(answer) = b.poll_message() {
                assert_eq!(
                    answer.to, a_id.addr,
                    "the answer goes to the digest's sender"
                );
                assert!(answer.len <= a.config().datagram_limit);
                a.handle(now, b_id.addr, answer.message);
            }
            assert!(
                ids(&a).len() > known || ids(&a) == ids(&b),
                "each exchange repairs"
            );
        }
        assert!(exchanges >= 2, "a hundred members do not fit one datagram");
        let failed = a
            .members()
            .into_iter()
            .find(|m| m.node == id(250, 1))
            .unwrap();
        assert_eq!(
            failed.state,
            MemberState::Failed,
            "failures are repaired too"
        );
        assert!(b.stats().digest_repairs >= 2);

        // Views that agree get no answer.
        now += interval;
        b.handle(now, a_id.addr, next_digest(&mut a, now));
        assert!(b.poll_message().is_none());
    }

    #[test]
    fn one_digest_exchange_repairs_both_sides() {
        let (a_id, b_id, mut a, mut b) = two_nodes();
        let common: Vec<_> = (10..60).map(alive).chain([alive(1), alive(2)]).collect();
        tell(&mut a, Time::ZERO, &common);
        tell(&mut b, Time::ZERO, &common);
        tell(
            &mut a,
            Time::ZERO,
            &(100..105).map(alive).collect::<Vec<_>>(),
        );
        tell(
            &mut b,
            Time::ZERO,
            &(200..205).map(alive).collect::<Vec<_>>(),
        );
        while a.poll_message().is_some() {}
        while b.poll_message().is_some() {}

        let now = a.config().sync_interval;
        b.handle(now, a_id.addr, next_digest(&mut a, now));
        let mut replies = 0;
        while let Some(t) = b.poll_message() {
            assert_eq!(t.to, a_id.addr);
            if let Gossip::Digest { reply, .. } = &t.message {
                assert!(*reply, "b's digest is a reply");
                replies += 1;
            }
            a.handle(now, b_id.addr, t.message);
        }
        assert_eq!(replies, 1, "b digests back what differed");
        while let Some(t) = a.poll_message() {
            assert_eq!(t.to, b_id.addr);
            assert!(
                !matches!(t.message, Gossip::Digest { .. }),
                "a reply digest gets no digest back"
            );
            b.handle(now, a_id.addr, t.message);
        }
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(
            ids(&a).len(),
            52 + 10 + 1,
            "every member, and tell's sender"
        );
    }

    #[test]
    fn a_digest_of_no_valid_split_is_counted_and_dropped() {
        let mut b = recorded(id(2, 1));
        tell(&mut b, Time::ZERO, &[(id(1, 1), MemberState::Alive, 0)]);
        while b.poll_message().is_some() {}
        let digest = |buckets: u32, first: u32, summaries: usize| Gossip::Digest {
            sender: id(1, 1),
            reply: false,
            buckets,
            first,
            summaries: vec![0xab; summaries],
        };
        for bad in [
            digest(3, 0, 8),
            digest(0, 0, 0),
            digest(2048, 0, 8),
            digest(64, 60, 8 * 5),
            digest(64, u32::MAX, 8),
            digest(64, 0, 7),
        ] {
            b.handle(Time::ZERO, id(1, 1).addr, bad);
        }
        assert_eq!(b.stats().malformed_digests, 6);
        assert!(b.poll_message().is_none());
    }
}
