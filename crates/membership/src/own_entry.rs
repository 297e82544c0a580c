//! This node's own entry in its view: what other members say about it and
//! its leaving. A suspicion of it is refuted with a higher incarnation and
//! the suspecter answered directly; a failure (or a stale `left` of a
//! version that never left) ends this version, fail-stop, and it rejoins
//! under a new one. Functions over the node and its view, called by the
//! view's `apply` and by `joins::leave`.

use std::net::SocketAddr;

use rumor_wire::{Incarnation, MemberState, MemberUpdate};

use crate::detector::MemberChange;
use crate::node::Node;
use crate::plausibility::Plausibility;
use crate::view::View;
use crate::{EventKind, RejoinCause};

/// What another member (at `from`; `None` for a join response) says about
/// this node.
pub(crate) fn on_news(
    view: &mut View,
    node: &mut Node,
    update: MemberUpdate,
    from: Option<SocketAddr>,
) {
    if node.lifecycle().has_left() {
        return;
    }
    let me = node.me();
    if !Plausibility::incarnation(Some(view.my_incarnation(&me)), update.incarnation) {
        node.stats_mut().absurd_updates += 1;
        return;
    }
    match update.state {
        MemberState::Alive => {}
        MemberState::Suspect => {
            if update.incarnation >= view.my_incarnation(&me) {
                let refuted = update.incarnation.next();
                view.set_own_state(node, MemberState::Alive, refuted);
                node.stats_mut().self_refutations += 1;
                // Lifeguard: being suspected hints that the trouble may be
                // on this node's side; the detector may weigh that.
                node.note(me, MemberChange::Suspected);
                view.disseminate(MemberUpdate {
                    node: me,
                    state: MemberState::Alive,
                    incarnation: refuted,
                });
            }
            // Answer the suspecter directly: the refutation reaches it in
            // one hop instead of by gossip.
            if let Some(to) = from {
                let alive = MemberUpdate {
                    node: me,
                    state: MemberState::Alive,
                    incarnation: view.my_incarnation(&me),
                };
                node.send_updates(to, vec![alive]);
            }
        }
        // Declared failed (or a stale "left" of a version that never left):
        // fail-stop, this version is over.
        MemberState::Failed | MemberState::Left => {
            let by = from.unwrap_or(me.addr);
            node.rejoin(RejoinCause::DeclaredFailed { by }, from);
        }
    }
}

/// This node leaves: `left` for itself, queued for dissemination. Returns
/// its incarnation.
pub(crate) fn leave(view: &mut View, node: &mut Node) -> Incarnation {
    let me = node.me();
    let incarnation = view.my_incarnation(&me);
    view.set_own_state(node, MemberState::Left, incarnation);
    node.emit(EventKind::Left, me, incarnation);
    view.disseminate(MemberUpdate {
        node: me,
        state: MemberState::Left,
        incarnation,
    });
    incarnation
}
