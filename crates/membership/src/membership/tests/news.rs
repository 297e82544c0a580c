//! News of failures, leaves and refutations pushed at once to
//! `news_fanout` members; joins and suspicions ride the piggyback.

use super::prelude::*;
use super::transitions::*;

/// A gossip core with `news_fanout` set, knowing members on ports 2..=7.
fn core_with(news_fanout: usize) -> Membership {
    let config = Config {
        news_fanout,
        ..Config::default()
    };
    let detector = DetectorRegistry::with_builtins()
        .create("gossip", &DetectorSettings::new(&config))
        .unwrap();
    let mut core = Membership::new(id(1, 1), config, detector, 1, Time::ZERO).unwrap();
    let members: Vec<_> = (2..=7).map(|p| (id(p, 1), MemberState::Alive, 0)).collect();
    tell(&mut core, Time::ZERO, &members);
    core
}

/// The `Updates` datagrams queued since the last call that tell `member`
/// is in `state`, by recipient.
fn pushed(core: &mut Membership, member: NodeId, state: MemberState) -> Vec<SocketAddr> {
    std::iter::from_fn(|| core.poll_message())
        .filter(|t| {
            matches!(&t.message, Gossip::Updates { updates, .. }
                if updates.iter().any(|u| u.node == member && u.state == state))
        })
        .map(|t| t.to)
        .collect()
}

#[test]
fn a_failure_or_a_refutation_heard_is_pushed_at_once_and_only_once() {
    let mut core = core_with(3);
    // Joins are not pushed, nor suspicions: they ride the piggyback.
    assert!(pushed(&mut core, id(2, 1), MemberState::Alive).is_empty());
    let x = id(4, 1);
    tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
    assert!(pushed(&mut core, x, MemberState::Suspect).is_empty());
    // Its refutation goes at once to three distinct known members.
    tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 1)]);
    let mut to = pushed(&mut core, x, MemberState::Alive);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 3, "{to:?}");
    assert!(to.iter().all(|a| a.port() >= 2 && a.port() <= 7), "{to:?}");
    // The same news again is not news: nothing more is pushed.
    tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 1)]);
    assert!(pushed(&mut core, x, MemberState::Alive).is_empty());
    // A failure goes the same way.
    let y = id(5, 1);
    tell(&mut core, Time::ZERO, &[(y, MemberState::Failed, 0)]);
    assert_eq!(pushed(&mut core, y, MemberState::Failed).len(), 3);
}

#[test]
fn without_news_fanout_the_news_waits_for_the_piggyback() {
    let mut core = core_with(0);
    let x = id(4, 1);
    tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 0)]);
    assert!(pushed(&mut core, x, MemberState::Failed).is_empty());
}
