//! `rumor force-leave`: an operator marks a failed member left at once.
//!
//! A failed member is remembered for healing (this node knocks at its
//! address now and then, in case it is the other side of a partition) and
//! listed as failed until `t_delete`. An operator who knows it is gone for
//! good forces it out: it is recorded `left`, no longer knocked at, and
//! the news spreads; every member that holds it failed takes the `left` too
//! (the one transition out of `failed`). A suspected member can be forced
//! out as well; a live one cannot (it would only refute). Functions over
//! the node and its view, called by the core (the operator's command) and
//! by the view's `apply` (the news).

use rumor_wire::{MemberState, MemberUpdate, NodeId};

use crate::EventKind;
use crate::node::Node;
use crate::provenance::Clue;
use crate::view::View;

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

/// Forces `id` out (see the module documentation).
pub(crate) fn force_leave(
    view: &mut View,
    node: &mut Node,
    id: NodeId,
) -> Result<(), ForceLeaveError> {
    if id == node.me() {
        return Err(ForceLeaveError::Myself);
    }
    let member = view.list().get(&id).ok_or(ForceLeaveError::NotListed)?;
    let incarnation = member.incarnation;
    match member.state {
        MemberState::Alive => Err(ForceLeaveError::Alive),
        MemberState::Left => Err(ForceLeaveError::AlreadyLeft),
        MemberState::Suspect => {
            node.trace(id, incarnation, Clue::Left { forced: true });
            view.mark_final(node, id, MemberState::Left, incarnation);
            Ok(())
        }
        MemberState::Failed => {
            node.trace(id, incarnation, Clue::Left { forced: true });
            failed_member_left(view, node, id);
            Ok(())
        }
    }
}

/// A member this node holds failed is now recorded `left` (forced out
/// here, or news of it): its removal keeps its time, and it is no longer
/// knocked at.
pub(crate) fn failed_member_left(view: &mut View, node: &mut Node, id: NodeId) {
    let Some(member) = view.list().get(&id) else {
        return;
    };
    if member.state != MemberState::Failed {
        return;
    }
    let incarnation = member.incarnation;
    view.record_left(node, id, incarnation);
    node.forget_failed(&id.addr);
    node.emit(EventKind::Left, id, incarnation);
    view.disseminate(MemberUpdate {
        node: id,
        state: MemberState::Left,
        incarnation,
    });
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
            extras: Default::default(),
        };
        core.handle(Time::ZERO, from.addr, updates);
    }

    /// A core at `id(1)` running `gossip` with the default configuration.
    fn gossip_core() -> Membership {
        let config = Config::default();
        let registry = DetectorRegistry::with_builtins();
        let gossip = registry
            .create("gossip", &DetectorSettings::new(&config))
            .unwrap();
        Membership::new(id(1), config, gossip, 1, Time::ZERO).unwrap()
    }

    #[test]
    fn hearsay_is_traced_and_a_failed_member_is_forced_out() {
        let mut core = gossip_core();
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

    #[test]
    fn a_suspected_member_is_forced_out_at_once() {
        let mut core = gossip_core();
        let (b, x) = (id(2), id(3));
        tell(&mut core, b, x, MemberState::Alive);
        tell(&mut core, b, x, MemberState::Suspect);
        assert_eq!(core.force_leave(Time::ZERO, x), Ok(()));
        let kinds: Vec<EventKind> = std::iter::from_fn(|| core.poll_event())
            .filter(|e| e.member == x)
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Left]
        );
        let clues: Vec<Clue> = core.history(&x).iter().map(|t| t.clue).collect();
        let accuser = Accuser::Hearsay { from: Some(b.addr) };
        assert_eq!(
            clues,
            vec![Clue::Suspected { accuser }, Clue::Left { forced: true }]
        );
        // Its suspicion is over: no verdict follows, however long it runs.
        core.tick(Time::from_secs(10));
        let later: Vec<EventKind> = std::iter::from_fn(|| core.poll_event())
            .filter(|e| e.member == x)
            .map(|e| e.kind)
            .collect();
        assert_eq!(later, vec![]);
        assert_eq!(core.stats().failures_declared, 0);
    }
}
