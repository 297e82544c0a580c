//! Joins, leaves and rejoins, on both sides: asking introducers in turn
//! and taking the member list they answer with, admitting or refusing a
//! joiner, telling the cluster this node leaves, choosing whom a rejoin
//! asks. Functions over the node and its view, called by the core; the
//! join under way itself (whom to ask next, when to give up) is the
//! node's lifecycle.

use std::net::SocketAddr;

use rumor_wire::{
    Extras, Gossip, Incarnation, JoinRetry, MemberUpdate, Metadata, NodeId, Version, update_len,
};

use crate::admission::Gate;
use crate::broadcasts::Broadcasts;
use crate::member_list::Standing;
use crate::node::Node;
use crate::room::Room;
use crate::view::View;
use crate::{Notice, Time};
use crate::{healing, metadata, own_entry};

/// Most members a leaving node tells directly; the rest learn by gossip.
const LEAVE_DIRECT: usize = 64;

/// Starts joining through `introducers` (see `Membership::join`).
pub(crate) fn join(view: &View, node: &mut Node, introducers: Vec<SocketAddr>) {
    let me = node.me();
    let mut candidates: Vec<SocketAddr> = Vec::with_capacity(introducers.len());
    for addr in introducers {
        if addr != me.addr && !candidates.contains(&addr) {
            candidates.push(addr);
        }
    }
    let lifecycle = node.lifecycle();
    if candidates.is_empty() || lifecycle.has_left() || lifecycle.must_rejoin() {
        return;
    }
    let first = view.list().len() == 1;
    node.start_join(candidates, first);
    step(node);
}

/// Moves the join under way along, sending the request due, if any.
pub(crate) fn step(node: &mut Node) {
    if let Some((to, nonce)) = node.step_join() {
        let request = Gossip::JoinRequest {
            node: node.me(),
            nonce,
            extras: node.own_extras(),
        };
        node.request(to, request);
    }
}

/// A request to `to` could not be delivered.
pub(crate) fn unreachable(node: &mut Node, to: SocketAddr) {
    if node.give_up_on(to) {
        node.notice(Notice::JoinUnanswered { introducer: to });
        step(node);
    }
}

/// Introducer side of a join: records the joiner with its metadata (notes
/// left for the detector) or says why not; the program's admission check
/// has its say first.
pub(crate) fn admit(
    view: &mut View,
    node: &mut Node,
    gate: &mut Gate,
    joiner: NodeId,
    nonce: u64,
    extras: Extras,
) -> Result<(), Gossip> {
    let me = node.me();
    let refuse = |reason: String, retry: JoinRetry| Gossip::JoinRefused {
        nonce,
        reason,
        retry,
    };
    if !node.lifecycle().is_active() {
        let reason = format!("{me} is leaving or rejoining the cluster");
        return Err(refuse(reason, JoinRetry::Elsewhere));
    }
    if joiner.addr == me.addr {
        let reason = format!("{joiner} has the introducer's own address");
        return Err(refuse(reason, JoinRetry::Elsewhere));
    }
    if !node.plausible_version(joiner.version) {
        let reason = format!(
            "{joiner}: a version that far ahead of this member's clock is refused (is the joiner's clock wrong?)"
        );
        return Err(refuse(reason, JoinRetry::Elsewhere));
    }
    let own = extras.into_parts().0.into_iter().find(|r| r.node == joiner);
    let empty = Metadata::new();
    let tags = own.as_ref().map_or(&empty, |r| &r.metadata);
    if let Err(why) = gate.admit(&joiner, tags) {
        node.stats_mut().admission_refusals += 1;
        let reason = format!("{me} does not admit {joiner}: {why}");
        return Err(refuse(reason, JoinRetry::Elsewhere));
    }
    // A joiner listed already (its answer was lost) may bring new metadata.
    let listed = view.list().get(&joiner).is_some();
    let admitted = admit_listed(view, node, joiner, nonce);
    if admitted.is_ok()
        && let Some(record) = own
    {
        metadata::accept(view, node, record, listed);
    }
    admitted
}

/// [`admit`] once the joiner passed the checks that do not need the list.
fn admit_listed(
    view: &mut View,
    node: &mut Node,
    joiner: NodeId,
    nonce: u64,
) -> Result<(), Gossip> {
    let me = node.me();
    let refuse = |reason: String, retry: JoinRetry| Gossip::JoinRefused {
        nonce,
        reason,
        retry,
    };
    match view.list().lookup(&joiner) {
        (Standing::Gone, _) => {
            let newest = view.list().newest_version_at(&joiner.addr);
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
            if view.learn(node, joiner, Incarnation(0)) {
                return Ok(());
            }
            let max = node.config().max_members;
            let reason = format!("{me} lists {max} members already (max_members)");
            Err(refuse(reason, JoinRetry::Elsewhere))
        }
    }
}

/// The answer to an admitted join: the member list, the metadata of its
/// live members that have any, and the user broadcasts still being passed
/// on, within `join_response_limit`.
pub(crate) fn response(view: &View, node: &Node, broadcasts: &Broadcasts, nonce: u64) -> Gossip {
    let budget = node.config().join_response_limit.saturating_sub(64);
    let members = view.list().join_response(budget);
    // The list's header, its records, and the extras' header at its largest.
    let used = 5 + members.iter().map(update_len).sum::<usize>() + 5;
    let mut room = budget.saturating_sub(used);
    let mut take = |len: usize| {
        let fits = len <= room;
        room -= if fits { len } else { 0 };
        fits
    };
    let mut records = Vec::new();
    if view.list().has_metadata() {
        let all = members
            .iter()
            .filter_map(|u| metadata::record_for(view.list(), u));
        records = all.filter(|r| take(r.record_len())).collect();
    }
    let pending = broadcasts.pending().filter(|b| take(b.record_len()));
    let pending = pending.cloned().collect();
    Gossip::JoinResponse {
        introducer: node.me(),
        nonce,
        members,
        extras: Extras::from_parts(records, pending),
    }
}

/// A join response from `from`: admitted, if it answers the request this
/// node waits for. Returns the broadcasts it carried.
pub(crate) fn on_response(
    view: &mut View,
    node: &mut Node,
    from: SocketAddr,
    introducer: NodeId,
    nonce: u64,
    members: Vec<MemberUpdate>,
    extras: Extras,
) -> Vec<rumor_wire::UserBroadcast> {
    if !node.awaits(from, nonce) || introducer.addr != from {
        node.stats_mut().unsolicited_join_answers += 1;
        return Vec::new();
    }
    node.admitted();
    let listed = members.len();
    healing::check_sender(view, node, introducer, from);
    view.set_quiet(true);
    view.reserve(members.len());
    // One `joined` event and one note per new member: grown once.
    node.reserve_journal(members.len());
    let (records, broadcasts) = extras.into_parts();
    metadata::apply_news(view, node, members, (records, Vec::new()), None);
    view.set_quiet(false);
    let me = node.me();
    let mine = view.list().get(&me).expect("this node is always listed");
    view.disseminate(mine.update());
    let notice = Notice::Joined {
        introducer,
        members: listed,
    };
    node.notice(notice);
    broadcasts
}

/// A join refusal from `from`: counted, and the version to renew to if
/// the refusal says this one is stale and the join may ask again (`None`
/// inside: ask the next introducer). `None` if no join waits for it.
pub(crate) fn on_refused(
    node: &mut Node,
    from: SocketAddr,
    nonce: u64,
    retry: JoinRetry,
) -> Option<Option<Version>> {
    let waiting = !node.lifecycle().is_member();
    let renewal = match retry {
        JoinRetry::NewerThan(version) if waiting && node.plausible_renewal(version) => {
            Some(version)
        }
        _ => None,
    };
    let Some(again) = node.refused(from, nonce, renewal.is_some()) else {
        node.stats_mut().unsolicited_join_answers += 1;
        return None;
    };
    node.stats_mut().join_refused += 1;
    Some(renewal.filter(|_| again))
}

/// Voluntary leave (see `Membership::leave`): `left` for itself, told
/// directly to up to [`LEAVE_DIRECT`] members, then gossiped.
pub(crate) fn leave(view: &mut View, node: &mut Node) {
    let lifecycle = node.lifecycle();
    if lifecycle.has_left() || lifecycle.must_rejoin() || !node.leave() {
        return;
    }
    let me = node.me();
    let incarnation = own_entry::leave(view, node);
    let mut targets = Vec::new();
    view.list()
        .choose_live(node.rng(), LEAVE_DIRECT, &[], &mut targets);
    for to in targets {
        node.send(
            to.addr,
            Gossip::Leave {
                node: me,
                incarnation,
            },
        );
    }
    let next = node.now() + node.config().heartbeat;
    node.set_leave_gossip(Some(next));
    node.clear_notes();
}

/// After a leave, at `now`: the next round of the leave's gossip, if due.
pub(crate) fn leave_gossip(view: &mut View, node: &mut Node, room: &Room, now: Time) {
    if node.lifecycle().leave_gossip().is_none_or(|at| at > now) {
        return;
    }
    let mut targets = Vec::new();
    let fanout = node.config().fanout.get();
    view.list()
        .choose_live(node.rng(), fanout, &[], &mut targets);
    for to in targets {
        let updates = view.piggyback(node, room.updates(), Some(&to));
        if updates.is_empty() {
            node.set_leave_gossip(None);
            return;
        }
        node.send_updates(to.addr, updates);
    }
    let next = now + node.config().heartbeat;
    node.set_leave_gossip(Some(next));
}

/// Whom a rejoin asks: `via`, the seeds, a few members of the old view.
pub(crate) fn rejoin_candidates(
    view: &View,
    node: &mut Node,
    via: Option<SocketAddr>,
) -> Vec<SocketAddr> {
    let mut candidates = Vec::new();
    candidates.extend(via);
    for seed in node.seeds() {
        if !candidates.contains(seed) {
            candidates.push(*seed);
        }
    }
    let mut others = Vec::new();
    view.list().choose_live(node.rng(), 8, &[], &mut others);
    candidates.extend(others.iter().map(|m| m.addr));
    candidates.dedup();
    candidates
}
