//! Healing: who may talk to this node, and what happens when a member
//! that holds this node dead says so (`Gone`): the smaller view yields and
//! rejoins, so two sides of a healed partition become one cluster again
//! (`docs/protocol.md`, *Healing*). Functions over the node and its view,
//! called by the core for each message.

use std::net::SocketAddr;

use rumor_wire::{Gossip, Incarnation, MemberState, MemberUpdate, NodeId};

use crate::member_list::Standing;
use crate::node::Node;
use crate::view::View;
use crate::{Notice, RejoinCause};

/// Checks the sender of a message: learns it if new, and tells it if it
/// is known gone. Returns whether it counts as a live member.
pub(crate) fn check_sender(
    view: &mut View,
    node: &mut Node,
    sender: NodeId,
    from: SocketAddr,
) -> bool {
    if sender.addr != from {
        // Every member sends from the address in its id; a message that
        // names someone else is forged or misrouted.
        node.stats_mut().misattributed += 1;
        return false;
    }
    if sender == node.me() || node.other_version_of_me(&sender, Some(from)) {
        return false;
    }
    if !node.plausible_version(sender.version) {
        return false;
    }
    match view.list().lookup(&sender) {
        (Standing::Unknown, listed) => {
            let older = listed.map(|m| m.id);
            view.learn_over(node, sender, Incarnation(0), older)
        }
        (Standing::Known, listed) => {
            let member = listed.expect("standing Known comes with the member's entry");
            if member.is_live() {
                return true;
            }
            let update = member.update();
            node.stats_mut().from_dead += 1;
            if update.state == MemberState::Failed {
                tell_gone(view, node, from, update, false);
            }
            false
        }
        (Standing::Gone, _) => {
            node.stats_mut().from_dead += 1;
            let update = MemberUpdate {
                node: sender,
                state: MemberState::Failed,
                incarnation: Incarnation(0),
            };
            tell_gone(view, node, from, update, false);
            false
        }
    }
}

/// Tells the member at `to` that it is gone in this node's view.
fn tell_gone(view: &View, node: &mut Node, to: SocketAddr, member: MemberUpdate, reply: bool) {
    let gone = Gossip::Gone {
        sender: node.me(),
        member,
        live: u32::try_from(view.list().live_count()).unwrap_or(u32::MAX),
        reply,
    };
    node.send(to, gone);
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
pub(crate) fn on_gone(
    view: &View,
    node: &mut Node,
    from: SocketAddr,
    sender: NodeId,
    about: MemberUpdate,
    their_live: u32,
    reply: bool,
) {
    let me = node.me();
    if sender.addr != from || sender == me {
        node.stats_mut().misattributed += 1;
        return;
    }
    if about.node != me {
        // About another version of this address: a newer one means this
        // process was replaced; an older one is stale news.
        if !node.other_version_of_me(&about.node, Some(from)) {
            node.stats_mut().unexpected += 1;
        }
        return;
    }
    if node.lifecycle().has_left() || !node.plausible_version(sender.version) {
        return;
    }
    let (standing, listed) = view.list().lookup(&sender);
    let holds_live = standing == Standing::Known && listed.is_some_and(|m| m.is_live());
    let ours = u32::try_from(view.list().live_count()).unwrap_or(u32::MAX);
    let we_outweigh = if holds_live {
        u64::from(their_live) * 2 < u64::from(ours)
    } else {
        ours > their_live || (ours == their_live && me.addr < sender.addr)
    };
    if !we_outweigh {
        let cause = RejoinCause::Gone {
            by: sender,
            its_view: their_live,
            our_view: ours,
        };
        node.rejoin(cause, Some(from));
        return;
    }
    node.stats_mut().outweighed_peers += 1;
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
    node.notice(Notice::OutweighedPeer {
        peer: sender,
        its_view: their_live,
        our_view: ours,
    });
    tell_gone(view, node, from, member, true);
}
