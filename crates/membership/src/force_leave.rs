//! `rumor force-leave`: an operator marks a failed member left at once.
//!
//! A failed member is remembered for healing (this node knocks at its
//! address now and then, in case it is the other side of a partition) and
//! listed as failed until `t_delete`. An operator who knows it is gone for
//! good forces it out: it is recorded `left`, no longer knocked at, and
//! the news spreads; every member that holds it failed takes the `left` too
//! (the one transition out of `failed`). A suspected member can be forced
//! out as well; a live one cannot (it would only refute).

use std::net::SocketAddr;

use rumor_wire::{MemberState, MemberUpdate, NodeId};

use crate::EventKind;
use crate::membership::Core;
use crate::provenance::Clue;

/// Why a member could not be forced out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForceLeaveError {
    /// No such member is listed.
    #[error("not a listed member")]
    NotListed,
    /// The member is alive: it would refute; ask it to leave instead.
    #[error("alive: only a failed or suspected member can be forced out")]
    Alive,
    /// The member already left.
    #[error("already left")]
    AlreadyLeft,
    /// A node cannot force itself out (use a graceful leave).
    #[error("that is this agent itself: use a graceful leave")]
    Myself,
}

impl Core {
    /// Forces `id` out (see the module documentation).
    pub(crate) fn force_leave(&mut self, id: NodeId) -> Result<(), ForceLeaveError> {
        if id == self.me {
            return Err(ForceLeaveError::Myself);
        }
        let member = self.list.get(&id).ok_or(ForceLeaveError::NotListed)?;
        let incarnation = member.incarnation;
        match member.state {
            MemberState::Alive => Err(ForceLeaveError::Alive),
            MemberState::Left => Err(ForceLeaveError::AlreadyLeft),
            MemberState::Suspect => {
                self.trace(id, incarnation, Clue::Left { forced: true });
                self.mark_final(id, MemberState::Left, incarnation);
                Ok(())
            }
            MemberState::Failed => {
                self.trace(id, incarnation, Clue::Left { forced: true });
                self.failed_member_left(id, None);
                Ok(())
            }
        }
    }

    /// A member this node holds failed is now recorded `left` (forced out
    /// here, or news of it from `from`): its removal keeps its time, and it
    /// is no longer knocked at.
    pub(crate) fn failed_member_left(&mut self, id: NodeId, from: Option<SocketAddr>) {
        let Some(member) = self.list.get(&id) else {
            return;
        };
        if member.state != MemberState::Failed {
            return;
        }
        let incarnation = member.incarnation;
        if from.is_some() {
            self.trace(id, incarnation, Clue::Left { forced: true });
        }
        let remove_at = self.list.deadline(&id);
        self.list
            .set_state(&id, MemberState::Left, incarnation, self.now);
        if let Some(at) = remove_at {
            self.list.set_deadline(&id, at);
        }
        self.reconnect.forget(&id.addr);
        self.emit(EventKind::Left, id, incarnation);
        self.dissemination.enqueue(MemberUpdate {
            node: id,
            state: MemberState::Left,
            incarnation,
        });
    }
}

#[cfg(test)]
mod tests {
    use rumor_wire::{Gossip, Incarnation, MemberState, MemberUpdate, NodeId};

    use crate::{
        Accuser, Clue, Config, DetectorRegistry, DetectorSettings, EventKind, ForceLeaveError,
        Membership, Time, Verdict,
    };

    fn id(port: u16) -> NodeId {
        format!("127.0.0.1:{port}#1").parse().unwrap()
    }

    fn tell(core: &mut Membership, from: NodeId, about: NodeId, state: MemberState) {
        let update = MemberUpdate {
            node: about,
            state,
            incarnation: Incarnation(0),
        };
        let updates = Gossip::Updates {
            sender: from,
            updates: vec![update],
        };
        core.handle(Time::ZERO, from.addr, updates);
    }

    #[test]
    fn hearsay_is_traced_and_a_failed_member_is_forced_out() {
        let config = Config::default();
        let registry = DetectorRegistry::with_builtins();
        let gossip = registry
            .create("gossip", &DetectorSettings::new(&config))
            .unwrap();
        let mut core = Membership::new(id(1), config, gossip, 1, Time::ZERO).unwrap();
        let (b, x) = (id(2), id(3));
        tell(&mut core, b, x, MemberState::Alive);
        tell(&mut core, b, x, MemberState::Suspect);
        tell(&mut core, b, x, MemberState::Suspect);
        tell(&mut core, b, x, MemberState::Failed);
        let clues: Vec<Clue> = core.history(&x).iter().map(|t| t.clue).collect();
        let from = Some(b.addr);
        assert_eq!(
            clues,
            vec![
                Clue::Suspected {
                    accuser: Accuser::Hearsay { from }
                },
                Clue::Confirmed { from },
                Clue::Failed {
                    verdict: Verdict::Hearsay { from }
                },
            ]
        );
        assert_eq!(core.force_leave(Time::ZERO, b), Err(ForceLeaveError::Alive));
        assert_eq!(
            core.force_leave(Time::ZERO, id(1)),
            Err(ForceLeaveError::Myself)
        );
        assert_eq!(
            core.force_leave(Time::ZERO, id(9)),
            Err(ForceLeaveError::NotListed)
        );
        assert_eq!(core.force_leave(Time::ZERO, x), Ok(()));
        let last = std::iter::from_fn(|| core.poll_event()).last().unwrap();
        assert_eq!((last.kind, last.member), (EventKind::Left, x));
        assert!(
            core.members()
                .iter()
                .any(|m| m.node == x && m.state == MemberState::Left)
        );
        assert_eq!(
            core.force_leave(Time::ZERO, x),
            Err(ForceLeaveError::AlreadyLeft)
        );
    }
}
