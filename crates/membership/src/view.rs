//! This node's view of the cluster: the member list and the parts that
//! keep it — suspicions, pending removals, the dissemination queue and the
//! timers — with the transitions between member states. Each transition
//! changes the list, then tells the other parts and the node (events,
//! detector notes, messages) in a fixed order, so a run replays from its
//! seed. The steps that explain a member's standing (an accusation and by
//! whom, confirmations, refutations, the verdict) go to the node's
//! provenance as they happen.

use std::net::SocketAddr;

use rumor_wire::{Incarnation, MemberState, MemberUpdate, Metadata, NodeId};

use crate::detector::MemberChange;
use crate::dissemination::{Dissemination, retransmit_limit};
use crate::member_list::{Member, MemberList, Standing};
use crate::node::Node;
use crate::plausibility::Plausibility;
use crate::provenance::{Accuser, Clue, Verdict};
use crate::removals::Removals;
use crate::rules::{Decision, decide};
use crate::suspicions::{SUSPECT_NOTICE_RETRIES, Suspicions};
use crate::timers::{Timer, Timers};
use crate::{EventKind, Time, force_leave, own_entry};

/// The member list and what keeps it.
#[derive(Debug)]
pub(crate) struct View {
    list: MemberList,
    suspicions: Suspicions,
    removals: Removals,
    dissemination: Dissemination,
    timers: Timers,
    /// Applying a join response: members learnt from it are not news to
    /// anyone else, so they are not queued for dissemination.
    quiet: bool,
}

impl View {
    /// A view holding only `me`, alive, with its metadata.
    pub(crate) fn new(me: NodeId, node: &Node) -> View {
        let mut list = MemberList::new(me, node.now());
        if let Some((at, metadata)) = node.own_metadata() {
            list.set_metadata(&me, at, metadata.clone());
        }
        View {
            list,
            suspicions: Suspicions::new(node.config()),
            removals: Removals::default(),
            dissemination: Dissemination::default(),
            timers: Timers::default(),
            quiet: false,
        }
    }

    /// The member list.
    pub(crate) fn list(&self) -> &MemberList {
        &self.list
    }

    /// The dissemination queue, and the list it tells of.
    pub(crate) fn dissemination(&mut self) -> (&mut Dissemination, &MemberList) {
        (&mut self.dissemination, &self.list)
    }

    /// Sets a listed member's metadata (see [`crate::metadata`]).
    pub(crate) fn set_metadata(&mut self, id: &NodeId, at: Incarnation, metadata: Metadata) {
        self.list.set_metadata(id, at, metadata);
    }

    /// Bytes of news waiting, up to what one message carries.
    pub(crate) fn news_bytes(&self, max_piggyback: usize) -> usize {
        self.dissemination.news_bytes(max_piggyback)
    }

    /// When the next timer is due.
    pub(crate) fn next_timer(&self) -> Option<Time> {
        self.timers.next()
    }

    /// The suspicion timeout at the current cluster size.
    pub(crate) fn suspicion_timeout(&self) -> std::time::Duration {
        self.suspicions.timeout(self.list.live_count())
    }

    /// Members learnt from now on are (`false`) or are not (`true`) news.
    pub(crate) fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Makes room for `additional` members at once (a join response).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.list.reserve_exact(additional);
    }

    /// This node's own incarnation.
    pub(crate) fn my_incarnation(&self, me: &NodeId) -> Incarnation {
        self.list.get(me).map(|m| m.incarnation).unwrap_or_default()
    }

    /// Records a new state of this node's own entry (see [`own_entry`]).
    pub(crate) fn set_own_state(
        &mut self,
        node: &Node,
        state: MemberState,
        incarnation: Incarnation,
    ) {
        self.set_state(&node.me(), state, incarnation, node.now());
    }

    /// Queues `update` for dissemination.
    pub(crate) fn disseminate(&mut self, update: MemberUpdate) {
        self.dissemination.enqueue(update);
    }

    /// Records a failed member as left (see [`force_leave`]); its removal
    /// keeps the time it had.
    pub(crate) fn record_left(&mut self, node: &Node, id: NodeId, incarnation: Incarnation) {
        self.set_state(&id, MemberState::Left, incarnation, node.now());
    }

    /// Records a state change in the list; a suspicion ends with any change
    /// but a newer incarnation of it.
    fn set_state(&mut self, id: &NodeId, state: MemberState, incarnation: Incarnation, now: Time) {
        let was_suspect = self
            .list
            .get(id)
            .is_some_and(|m| m.state == MemberState::Suspect);
        self.list.set_state(id, state, incarnation, now);
        if was_suspect && state != MemberState::Suspect {
            self.suspicions.end(id);
        }
        if state == MemberState::Alive {
            self.suspicions.alive_at(id, incarnation);
        }
    }

    /// Deletes `id` from the list and every part.
    fn remove(&mut self, id: &NodeId) -> Option<Member> {
        let member = self.list.remove(id)?;
        self.suspicions.forget(id);
        self.removals.forget(id);
        self.dissemination.forget(id);
        Some(member)
    }

    // ----- learning and losing members -----------------------------------

    /// A member this node has never listed: list it alive, superseding an
    /// older version of its address.
    pub(crate) fn learn(&mut self, node: &mut Node, id: NodeId, incarnation: Incarnation) -> bool {
        let older = self.list.superseded_by(&id);
        self.learn_over(node, id, incarnation, older)
    }

    /// [`View::learn`] when the caller already looked up what is listed at
    /// `id`'s address: `older`, an older version of it, if any. Returns
    /// false, learning nothing, when the list is full (`max_members`).
    pub(crate) fn learn_over(
        &mut self,
        node: &mut Node,
        id: NodeId,
        incarnation: Incarnation,
        older: Option<NodeId>,
    ) -> bool {
        if older.is_none() && self.list.len() >= node.config().max_members {
            node.stats_mut().members_refused += 1;
            return false;
        }
        if let Some(old) = older {
            self.supersede(node, old);
        }
        node.forget_failed(&id.addr);
        self.list
            .insert(id, MemberState::Alive, incarnation, node.now());
        node.emit(EventKind::Joined, id, incarnation);
        node.note(id, MemberChange::Joined);
        if !self.quiet {
            self.dissemination
                .enqueue(news(id, MemberState::Alive, incarnation));
        }
        true
    }

    /// A newer version of the address appeared: the old one is gone
    /// (fail-stop) and is deleted at once with a `removed` event.
    fn supersede(&mut self, node: &mut Node, old: NodeId) {
        if let Some(member) = self.remove(&old) {
            if member.is_live() {
                node.note(old, MemberChange::Down);
            }
            node.emit(EventKind::Removed, old, member.incarnation);
        }
    }

    /// `id` failed or left (final for its version): it is deleted after
    /// `t_delete`.
    pub(crate) fn mark_final(
        &mut self,
        node: &mut Node,
        id: NodeId,
        state: MemberState,
        incarnation: Incarnation,
    ) {
        let Some(member) = self.list.get(&id) else {
            return;
        };
        if !member.is_live() {
            return;
        }
        let now = node.now();
        let incarnation = incarnation.max(member.incarnation);
        self.set_state(&id, state, incarnation, now);
        let remove_at = now + node.config().t_delete;
        self.removals.schedule(id, remove_at);
        self.timers.schedule(remove_at, Timer::Remove(id));
        let kind = if state == MemberState::Left {
            EventKind::Left
        } else {
            node.remember_failed(id.addr);
            EventKind::Failed
        };
        node.emit(kind, id, incarnation);
        node.note(id, MemberChange::Down);
        self.dissemination.enqueue(news(id, state, incarnation));
    }

    // ----- news from other members ----------------------------------------

    /// Applies what another member (at `from`; `None` for a join response)
    /// says about one member.
    pub(crate) fn apply(
        &mut self,
        node: &mut Node,
        update: MemberUpdate,
        from: Option<SocketAddr>,
    ) {
        let id = update.node;
        if id == node.me() {
            own_entry::on_news(self, node, update, from);
            return;
        }
        if node.other_version_of_me(&id, from) || !node.plausible_version(id.version) {
            return;
        }
        let (standing, listed) = self.list.lookup(&id);
        let known = listed
            .filter(|m| m.id == id)
            .map(|m| (m.state, m.incarnation));
        let older = listed.map(|m| m.id).filter(|m| m.is_superseded_by(&id));
        if !Plausibility::incarnation(known.map(|k| k.1), update.incarnation) {
            node.stats_mut().absurd_updates += 1;
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
                    self.learn_over(node, id, update.incarnation, older);
                }
                // Never knew it alive: just remember it is gone (and, if it
                // failed, knock there now and then: it may be the other
                // side of a partition).
                MemberState::Failed | MemberState::Left => {
                    if let Some(old) = older {
                        self.supersede(node, old);
                    }
                    self.list.bury(&id);
                    if update.state == MemberState::Failed {
                        node.remember_failed(id.addr);
                    }
                }
            },
            Standing::Known => {
                let (state, current) = known.expect("standing Known comes with the member's entry");
                let cleared = self.suspicions.cleared_upto(&id);
                self.carry_out(
                    node,
                    update,
                    from,
                    state,
                    decide(state, current, &update, cleared),
                );
            }
        }
    }

    /// Carries out what the rules decided about news of a listed member.
    fn carry_out(
        &mut self,
        node: &mut Node,
        update: MemberUpdate,
        from: Option<SocketAddr>,
        state: MemberState,
        decision: Decision,
    ) {
        let id = update.node;
        let suspicion = state == MemberState::Suspect;
        if let Some(clue) = decision.clue(state, from) {
            node.trace(id, update.incarnation, clue);
        }
        match decision {
            Decision::HeardAgain => {
                let mult = node.config().retransmit_mult.get();
                let limit = retransmit_limit(mult, self.list.live_count());
                self.dissemination.heard_again(&update, mult, limit);
                if suspicion {
                    self.confirm(from, &id);
                }
            }
            Decision::ReannounceLeft(current) => {
                // Someone missed the leave: tell it again, so that no one
                // ever records this member as failed.
                self.dissemination
                    .enqueue(news(id, MemberState::Left, current));
            }
            Decision::LeftAfterFailure => force_leave::failed_member_left(self, node, id),
            Decision::StaleFailure => node.stats_mut().stale_failures += 1,
            Decision::Final(state, incarnation) => self.mark_final(node, id, state, incarnation),
            Decision::NewIncarnation => {
                // A suspicion at a newer incarnation keeps its timer.
                self.set_state(&id, update.state, update.incarnation, node.now());
                self.dissemination.enqueue(update);
                if suspicion {
                    self.confirm(from, &id);
                }
            }
            Decision::Suspect => self.mark_suspect(node, id, update.incarnation, from, false),
            Decision::Refute => self.mark_refuted(node, id, update.incarnation),
            Decision::Ignore => {}
        }
    }

    /// Another member at `from` suspects `id` too: a confirmation, which may
    /// shorten the suspicion (Lifeguard).
    fn confirm(&mut self, from: Option<SocketAddr>, id: &NodeId) {
        if let Some(deadline) = from.and_then(|from| self.suspicions.confirm(id, from)) {
            let hearsay = !self.is_local_suspicion(id);
            self.timers.schedule(deadline, Timer::expire(*id, hearsay));
        }
    }

    fn is_local_suspicion(&self, id: &NodeId) -> bool {
        self.suspicions.is_local(id)
    }

    // ----- suspicions -----------------------------------------------------

    /// Records `id` as suspected at `incarnation` on the word of `accuser`
    /// and starts the timer; `local` when this node's own detector raised
    /// it (then the suspect is told directly).
    fn mark_suspect(
        &mut self,
        node: &mut Node,
        id: NodeId,
        incarnation: Incarnation,
        accuser: Option<SocketAddr>,
        local: bool,
    ) {
        let now = node.now();
        let live = self.list.live_count();
        self.set_state(&id, MemberState::Suspect, incarnation, now);
        let deadline = self.suspicions.start(id, now, live, accuser, local);
        let timer = Timer::expire(id, !local);
        self.timers.schedule(deadline, timer);
        node.emit(EventKind::Suspected, id, incarnation);
        node.note(id, MemberChange::Suspected);
        let update = news(id, MemberState::Suspect, incarnation);
        self.dissemination.enqueue(update);
        if local {
            // Tell the suspect directly (Lifeguard's "buddy system"): it can
            // refute at once instead of waiting for gossip to reach it.
            node.stats_mut().suspicions += 1;
            node.send_updates(id.addr, vec![update]);
            let spacing = self.suspicions.timeout(live) / (u32::from(SUSPECT_NOTICE_RETRIES) + 1);
            self.timers.schedule(
                now + spacing,
                Timer::SuspectNotice(id, SUSPECT_NOTICE_RETRIES),
            );
        }
    }

    /// The suspect answered with a higher incarnation.
    fn mark_refuted(&mut self, node: &mut Node, id: NodeId, incarnation: Incarnation) {
        self.set_state(&id, MemberState::Alive, incarnation, node.now());
        node.stats_mut().refutations += 1;
        node.emit(EventKind::Alive, id, incarnation);
        node.note(id, MemberChange::Refuted);
        self.dissemination
            .enqueue(news(id, MemberState::Alive, incarnation));
    }

    /// The local detector's opinion: suspect `id` (a confirmation, if it is
    /// suspected already).
    pub(crate) fn suspect(&mut self, node: &mut Node, id: NodeId) {
        let Some(member) = self.list.get(&id) else {
            return;
        };
        if id == node.me() {
            return;
        }
        match member.state {
            MemberState::Alive => {
                let (me, accuser) = (Some(node.me().addr), Accuser::OwnDetector);
                node.trace(id, member.incarnation, Clue::Suspected { accuser });
                self.mark_suspect(node, id, member.incarnation, me, true);
            }
            MemberState::Suspect => self.confirm(Some(node.me().addr), &id),
            _ => {}
        }
    }

    /// The local detector's opinion: `id` is alive (fresh direct evidence).
    pub(crate) fn alive(&mut self, node: &mut Node, id: NodeId) {
        if let Some(member) = self.list.get(&id) {
            if member.state == MemberState::Suspect {
                let incarnation = member.incarnation;
                node.trace(id, incarnation, Clue::Refuted { from: None });
                self.suspicions.clear_upto(id, incarnation);
                self.set_state(&id, MemberState::Alive, incarnation, node.now());
                node.stats_mut().refutations += 1;
                node.emit(EventKind::Alive, id, incarnation);
                node.note(id, MemberChange::Refuted);
            }
        }
    }

    /// The local detector's opinion: `id` has certainly failed.
    pub(crate) fn fail(&mut self, node: &mut Node, id: NodeId) {
        if id == node.me() {
            return;
        }
        if let Some(member) = self.list.get(&id) {
            if member.is_live() {
                let verdict = Verdict::Detector;
                node.trace(id, member.incarnation, Clue::Failed { verdict });
                node.stats_mut().failures_declared += 1;
                self.mark_final(node, id, MemberState::Failed, member.incarnation);
            }
        }
    }

    /// This node did not run for a while (a stopped process, a GC pause, a
    /// starved CPU): the refutations of the members it suspects may be
    /// waiting, unread, in its socket buffer. Every suspicion that would
    /// run out within `grace` is postponed to `grace` from now and then
    /// gives its suspect a last chance, so a node that was itself paused
    /// never declares others failed on evidence it could not receive.
    pub(crate) fn postpone_suspicions(&mut self, now: Time, grace: std::time::Duration) {
        let until = now + grace;
        for id in self.suspicions.due_before(until) {
            self.suspicions.pin(&id, until);
            let timer = Timer::expire(id, true);
            self.timers.schedule(until, timer);
        }
    }

    // ----- time ------------------------------------------------------------

    /// Fires every timer due now.
    pub(crate) fn fire_timers(&mut self, node: &mut Node) {
        while let Some((at, timer)) = self.timers.pop_due(node.now()) {
            match timer {
                Timer::SuspectExpire { member, hearsay } => {
                    self.suspicion_expired(node, member, at, hearsay)
                }
                Timer::SuspectNotice(id, left) => self.suspect_notice(node, id, left),
                Timer::Remove(id) => {
                    let due = self.list.get(&id).is_some_and(|m| !m.is_live())
                        && self.removals.is_due(&id, at);
                    if due {
                        let member = self.remove(&id).expect("checked listed just above");
                        node.emit(EventKind::Removed, id, member.incarnation);
                    }
                }
            }
        }
    }

    /// The suspicion timer of `id` fired: failed, unless the suspicion was
    /// refuted (or renewed) meanwhile. A suspicion this node only heard of
    /// first gets a last chance: the suspect is told directly, twice over
    /// a grace of a quarter of the suspicion timeout, and is declared
    /// failed only if no refutation came by then. A refutation gossiped
    /// through a busy cluster (a join storm fills every datagram) can
    /// arrive after a hearsay timer runs out; the suspect's direct answer
    /// takes one round trip. The suspecter whose own detector raised the
    /// suspicion already told the suspect directly and does not wait.
    fn suspicion_expired(&mut self, node: &mut Node, id: NodeId, at: Time, hearsay: bool) {
        let suspected = self
            .list
            .get(&id)
            .filter(|m| m.state == MemberState::Suspect);
        let Some(incarnation) = suspected.map(|m| m.incarnation) else {
            return;
        };
        if self.suspicions.deadline(&id) != Some(at) {
            return;
        }
        let now = node.now();
        if hearsay {
            node.trace(id, incarnation, Clue::LastChance);
            node.stats_mut().last_chances += 1;
            let grace = self.suspicion_timeout() / 4;
            self.suspect_notice(node, id, 1);
            self.timers
                .schedule(now + grace / 2, Timer::SuspectNotice(id, 1));
            self.suspicions.pin(&id, now + grace);
            let timer = Timer::expire(id, false);
            self.timers.schedule(now + grace, timer);
            return;
        }
        let timeout = self.suspicions.timeout_of(&id);
        let timeout = timeout.unwrap_or_else(|| self.suspicion_timeout());
        let verdict = Verdict::SuspicionTimer { timeout };
        node.trace(id, incarnation, Clue::Failed { verdict });
        node.stats_mut().failures_declared += 1;
        self.mark_final(node, id, MemberState::Failed, Incarnation(0));
    }

    /// Tells a member this node still suspects that it is suspected.
    fn suspect_notice(&mut self, node: &mut Node, id: NodeId, left: u8) {
        let update = self
            .list
            .get(&id)
            .filter(|m| m.state == MemberState::Suspect)
            .map(|m| m.update());
        if let Some(update) = update {
            node.send_updates(id.addr, vec![update]);
            if left > 1 {
                let spacing = self.suspicion_timeout() / (u32::from(SUSPECT_NOTICE_RETRIES) + 1);
                self.timers
                    .schedule(node.now() + spacing, Timer::SuspectNotice(id, left - 1));
            }
        }
    }

    // ----- whole views ------------------------------------------------------

    /// Starts again from a list holding only `me` (a new version).
    pub(crate) fn reset(&mut self, me: NodeId, node: &Node) {
        *self = View::new(me, node);
    }

    /// Takes `peer`'s member list as `me` would hold it, with every
    /// suspicion as hearsay and every pending removal, their timers
    /// running: false, changing nothing, unless `peer` lists `me` live
    /// under its version.
    pub(crate) fn adopt(&mut self, peer: &View, me: NodeId) -> bool {
        let Some(list) = peer.list.copy_for(me) else {
            return false;
        };
        self.list = list;
        self.suspicions = peer.suspicions.as_hearsay();
        self.removals = peer.removals.clone();
        for (member, at, _) in self.suspicions.iter() {
            let timer = Timer::expire(member, true);
            self.timers.schedule(at, timer);
        }
        for (id, at) in self.removals.iter() {
            self.timers.schedule(at, Timer::Remove(id));
        }
        true
    }

    /// Piggybacks news for a message with `budget` bytes of room.
    pub(crate) fn piggyback(
        &mut self,
        node: &Node,
        budget: usize,
        skip: Option<&NodeId>,
    ) -> Vec<MemberUpdate> {
        let config = node.config();
        self.dissemination.piggyback(
            budget,
            skip,
            config.retransmit_mult.get(),
            config.max_piggyback.get(),
            self.list.live_count(),
        )
    }
}

/// News of `node`: `state` at `incarnation`.
fn news(node: NodeId, state: MemberState, incarnation: Incarnation) -> MemberUpdate {
    MemberUpdate {
        node,
        state,
        incarnation,
    }
}
