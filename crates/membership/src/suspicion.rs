//! Suspicion: the stage between alive and failed, its timer, and the
//! direct notices that let a suspect refute in one round trip (Lifeguard's
//! buddy system).
//!
//! A suspicion lasts `t_suspect` (longer in clusters of more than a
//! thousand members, where news takes longer to reach everyone). The node
//! whose own
//! detector raised it tells the suspect at once and three more times over
//! that span; the suspect answers with a higher incarnation. Fresh direct
//! evidence of life (a heartbeat, an ack) clears a suspicion locally.

use std::time::Duration;

use rumor_wire::{Incarnation, MemberState, MemberUpdate, NodeId};

use crate::Time;
use crate::detector::MemberChange;
use crate::event::EventKind;
use crate::membership::{Core, Timer};
use crate::provenance::{Accuser, Clue, Verdict};

/// How long news takes to reach every member, per decade of cluster size.
const DISSEMINATION_PER_DECADE: Duration = Duration::from_millis(500);

/// Direct "you are suspected" notices sent to a member this node suspects:
/// one at once and this many more, spread over the suspicion timeout.
pub(crate) const SUSPECT_NOTICE_RETRIES: u8 = 3;

impl Core {
    /// The suspicion timeout for the current cluster size: `t_suspect`, or
    /// the time news needs to reach everyone in a large cluster if that is
    /// longer (`500 ms · log10 n`: 1.5 s at 1,000 members, 2 s at 10,000).
    pub(crate) fn suspicion_timeout(&self) -> Duration {
        let n = self.list.live_count() as f64;
        self.config
            .t_suspect
            .max(DISSEMINATION_PER_DECADE.mul_f64(n.log10().max(0.0)))
    }

    /// This node did not run for a while (a stopped process, a GC pause, a
    /// starved CPU): the refutations of the members it suspects may be
    /// waiting, unread, in its socket buffer. Every suspicion that would
    /// run out within `grace` is postponed to `grace` from now and then
    /// gives its suspect a last chance, so a node that was itself paused
    /// never declares others failed on evidence it could not receive.
    pub(crate) fn postpone_suspicions(&mut self, grace: Duration) {
        let until = self.now + grace;
        let due: Vec<NodeId> = self
            .list
            .with_deadlines()
            .filter(|(m, at)| m.state == MemberState::Suspect && *at < until)
            .map(|(m, _)| m.id)
            .collect();
        for id in due {
            self.list.set_deadline(&id, until);
            let timer = Timer::SuspectExpire {
                member: id,
                hearsay: true,
            };
            self.schedule(until, timer);
        }
    }

    /// Records `id` as suspected at `incarnation` and starts the timer;
    /// `local` when this node's own detector raised it (then the suspect is
    /// told directly).
    pub(crate) fn mark_suspect(&mut self, id: NodeId, incarnation: Incarnation, local: bool) {
        let timeout = self.suspicion_timeout();
        let deadline = self.now + timeout;
        self.list
            .set_state(&id, MemberState::Suspect, incarnation, self.now);
        self.list.set_deadline(&id, deadline);
        let timer = Timer::SuspectExpire {
            member: id,
            hearsay: !local,
        };
        self.schedule(deadline, timer);
        self.emit(EventKind::Suspected, id, incarnation);
        self.notes.push_back((id, MemberChange::Suspected));
        let update = MemberUpdate {
            node: id,
            state: MemberState::Suspect,
            incarnation,
        };
        self.dissemination.enqueue(update);
        if local {
            // Tell the suspect directly (Lifeguard's "buddy system"): it can
            // refute at once instead of waiting for gossip to reach it.
            self.stats.suspicions += 1;
            self.send_updates(id.addr, vec![update]);
            let spacing = timeout / (u32::from(SUSPECT_NOTICE_RETRIES) + 1);
            self.schedule(
                self.now + spacing,
                Timer::SuspectNotice(id, SUSPECT_NOTICE_RETRIES),
            );
        }
    }

    /// The suspect answered with a higher incarnation.
    pub(crate) fn mark_refuted(&mut self, id: NodeId, incarnation: Incarnation) {
        self.list
            .set_state(&id, MemberState::Alive, incarnation, self.now);
        self.stats.refutations += 1;
        self.emit(EventKind::Alive, id, incarnation);
        self.notes.push_back((id, MemberChange::Refuted));
        self.dissemination.enqueue(MemberUpdate {
            node: id,
            state: MemberState::Alive,
            incarnation,
        });
    }

    /// The local detector's opinion: suspect `id`.
    pub(crate) fn suspect(&mut self, id: NodeId) {
        if let Some(member) = self.list.get(&id) {
            if member.state == MemberState::Alive && id != self.me {
                let incarnation = member.incarnation;
                let accuser = Accuser::OwnDetector;
                self.trace(id, incarnation, Clue::Suspected { accuser });
                self.mark_suspect(id, incarnation, true);
            }
        }
    }

    /// The local detector's opinion: `id` is alive (fresh direct evidence).
    pub(crate) fn alive(&mut self, id: NodeId) {
        if let Some(member) = self.list.get(&id) {
            if member.state == MemberState::Suspect {
                let incarnation = member.incarnation;
                self.trace(id, incarnation, Clue::Refuted { from: None });
                self.list.set_cleared_upto(&id, incarnation);
                self.list
                    .set_state(&id, MemberState::Alive, incarnation, self.now);
                self.stats.refutations += 1;
                self.emit(EventKind::Alive, id, incarnation);
                self.notes.push_back((id, MemberChange::Refuted));
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
    pub(crate) fn suspicion_expired(&mut self, id: NodeId, at: Time, hearsay: bool) {
        let due = self
            .list
            .get(&id)
            .is_some_and(|m| m.state == MemberState::Suspect)
            && self.list.deadline(&id) == Some(at);
        if !due {
            return;
        }
        let incarnation = self.list.get(&id).map(|m| m.incarnation);
        let incarnation = incarnation.unwrap_or_default();
        if hearsay {
            self.trace(id, incarnation, Clue::LastChance);
            self.stats.last_chances += 1;
            let grace = self.suspicion_timeout() / 4;
            self.suspect_notice(id, 1);
            self.schedule(self.now + grace / 2, Timer::SuspectNotice(id, 1));
            self.list.set_deadline(&id, self.now + grace);
            let timer = Timer::SuspectExpire {
                member: id,
                hearsay: false,
            };
            self.schedule(self.now + grace, timer);
            return;
        }
        let timeout = self.suspicion_timeout();
        let verdict = Verdict::SuspicionTimer { timeout };
        self.trace(id, incarnation, Clue::Failed { verdict });
        self.stats.failures_declared += 1;
        self.mark_final(id, MemberState::Failed, Incarnation(0));
    }

    /// Tells a member this node still suspects that it is suspected.
    pub(crate) fn suspect_notice(&mut self, id: NodeId, left: u8) {
        let update = self
            .list
            .get(&id)
            .filter(|m| m.state == MemberState::Suspect)
            .map(|m| m.update());
        if let Some(update) = update {
            self.send_updates(id.addr, vec![update]);
            if left > 1 {
                let spacing = self.suspicion_timeout() / (u32::from(SUSPECT_NOTICE_RETRIES) + 1);
                self.schedule(self.now + spacing, Timer::SuspectNotice(id, left - 1));
            }
        }
    }
}
