//! Joins and rejoins, healing, the list's bounds.

use super::prelude::*;
use super::transitions::*;

/// The join requests `core` sends, as (to, nonce, joining node).
pub(super) fn join_requests(core: &mut Membership) -> Vec<(SocketAddr, u64, NodeId)> {
    std::iter::from_fn(|| core.poll_message())
        .filter_map(|t| match t.message {
            Gossip::JoinRequest { node, nonce, .. } => {
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
        extras: Default::default(),
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
    assert!(matches!(answer.message, Gossip::Gone { reply: true, member, .. } if member.node == b));
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
    let mut core =
        Membership::new(id(1, 1), config, detector, 1, Time::ZERO).expect("a valid configuration");
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
