//! The member list's transitions, suspicions and their timers, news
//! about this node itself.

use super::prelude::*;

pub(super) fn id(port: u16, version: u64) -> NodeId {
    NodeId::new(
        SocketAddr::from(([127, 0, 0, 1], port)),
        rumor_wire::Version(version),
    )
}

pub(super) fn core() -> Membership {
    let config = Config::default();
    let detector = DetectorRegistry::with_builtins()
        .create("gossip", &DetectorSettings::new(&config))
        .unwrap();
    Membership::new(id(1, 1), config, detector, 1, Time::ZERO).expect("a valid configuration")
}

pub(super) fn tell(core: &mut Membership, now: Time, updates: &[(NodeId, MemberState, u64)]) {
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
            extras: Default::default(),
        },
    );
}

pub(super) fn kinds_about(core: &mut Membership, member: NodeId) -> Vec<EventKind> {
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
pub(super) fn advance(core: &mut Membership, to: Time) {
    while let Some(at) = core.poll_timeout() {
        if at >= to {
            break;
        }
        core.tick(at);
    }
    core.tick(to);
}

/// `x` is suspected; with the suspicion timeout.
pub(super) fn hearsay_suspicion() -> (Membership, NodeId, Duration) {
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
pub(super) fn told_suspect(core: &mut Membership, member: NodeId) -> usize {
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
        extras: Default::default(),
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
