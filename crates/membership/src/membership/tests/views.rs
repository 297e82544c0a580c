//! The detector's notes, leaves, adopted views and anti-entropy digests.

use super::prelude::*;
use super::transitions::*;

/// A detector that records what the core tells it.
pub(super) struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<(NodeId, MemberChange)>>>);

impl FailureDetector for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn member_changed(
        &mut self,
        _ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        self.0.lock().unwrap().push((member, change));
    }
    fn handle(
        &mut self,
        _ctx: &mut DetectorContext<'_>,
        _sender: NodeId,
        _payload: &[u8],
    ) -> Result<(), crate::MembershipError> {
        Ok(())
    }
    fn tick(&mut self, _ctx: &mut DetectorContext<'_>) {}
    fn next_deadline(&self) -> Option<Time> {
        None
    }
}

#[test]
fn the_detector_hears_of_every_change_including_its_own_suspicion() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut core = Membership::new(
        id(1, 1),
        Config::default(),
        Box::new(Recorder(seen.clone())),
        1,
        Time::ZERO,
    )
    .expect("a valid configuration");
    let x = id(2, 1);
    tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 0)]);
    tell(&mut core, Time::ZERO, &[(x, MemberState::Suspect, 0)]);
    tell(&mut core, Time::ZERO, &[(x, MemberState::Alive, 1)]);
    tell(
        &mut core,
        Time::ZERO,
        &[(id(1, 1), MemberState::Suspect, 0)],
    );
    tell(&mut core, Time::ZERO, &[(x, MemberState::Failed, 1)]);
    let seen = seen.lock().unwrap().clone();
    let about_x: Vec<MemberChange> = seen
        .iter()
        .filter(|(m, _)| *m == x)
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(
        about_x,
        vec![
            MemberChange::Joined,
            MemberChange::Suspected,
            MemberChange::Refuted,
            MemberChange::Down
        ]
    );
    assert!(seen.contains(&(id(1, 1), MemberChange::Suspected)));
    assert!(
        seen.iter()
            .all(|(m, c)| *m != id(1, 1) || *c == MemberChange::Suspected)
    );
}

#[test]
fn leave_records_left_and_tells_members() {
    let mut core = core();
    tell(&mut core, Time::ZERO, &[(id(2, 1), MemberState::Alive, 0)]);
    while core.poll_event().is_some() {}
    while core.poll_message().is_some() {}
    core.leave(Time::ZERO);
    assert_eq!(kinds_about(&mut core, id(1, 1)), vec![EventKind::Left]);
    let leave = core.poll_message().expect("a Leave message");
    assert!(matches!(leave.message, Gossip::Leave { node, .. } if node == id(1, 1)));
    assert!(core.has_left());
}

#[test]
fn adopting_a_view_copies_the_list_and_its_deadlines_without_events() {
    let t = Time::ZERO;
    let mut peer = core(); // id(1, 1)
    let (me, a, b, c) = (id(5, 1), id(2, 1), id(3, 1), id(4, 1));
    tell(
        &mut peer,
        t,
        &[
            (me, MemberState::Alive, 0),
            (a, MemberState::Alive, 0),
            (b, MemberState::Alive, 0),
            (c, MemberState::Alive, 0),
        ],
    );
    tell(&mut peer, t, &[(b, MemberState::Suspect, 0)]);
    tell(&mut peer, t, &[(c, MemberState::Failed, 0)]);

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut node = Membership::new(
        me,
        Config::default(),
        Box::new(Recorder(seen.clone())),
        7,
        t,
    )
    .expect("a valid configuration");
    while node.poll_event().is_some() {}
    let stranger = Membership::new(
        id(6, 1),
        Config::default(),
        Box::new(Recorder(seen.clone())),
        7,
        t,
    )
    .expect("a valid configuration");
    assert!(
        !node.adopt_view(t, &stranger),
        "the stranger does not list this node"
    );
    assert_eq!(node.members().len(), 1);

    assert!(node.adopt_view(t, &peer));
    let view = |m: &Membership| -> Vec<(NodeId, MemberState, Incarnation)> {
        m.members()
            .iter()
            .map(|i| (i.node, i.state, i.incarnation))
            .collect()
    };
    assert_eq!(view(&node), view(&peer));
    assert_eq!(node.live_count(), peer.live_count());
    assert!(node.poll_event().is_none(), "nothing is news: no events");
    assert!(node.poll_message().is_none());
    let key = |(m, c): &(NodeId, MemberChange)| (*m, format!("{c:?}"));
    let mut told = seen.lock().unwrap().clone();
    told.sort_by_key(key);
    let mut expected = vec![
        (id(1, 1), MemberChange::Joined),
        (a, MemberChange::Joined),
        (b, MemberChange::Joined),
        (b, MemberChange::Suspected),
        (id(9, 1), MemberChange::Joined), // the sender of `tell`
    ];
    expected.sort_by_key(key);
    assert_eq!(told, expected);
    assert!(
        !node.adopt_view(t, &peer),
        "only a node that lists only itself adopts"
    );

    // The suspicion and the removal run out as they would at the peer.
    // (b's suspicion is hearsay here: b gets a last chance first.)
    // c's removal comes t_delete (30 s) after its failure; b's comes
    // t_delete after its suspicion runs out, a few seconds later.
    advance(&mut node, t + Duration::from_secs(31));
    assert!(node.members().iter().all(|m| m.node != c), "c was removed");
    assert!(
        node.members()
            .iter()
            .any(|m| m.node == b && m.state == MemberState::Failed),
        "b's suspicion ran out"
    );
}

pub(super) fn recorded(me: NodeId) -> Membership {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    // Two nodes talking only to each other: urgent news repaired by a
    // digest is not pushed to the members they list but do not run.
    let config = Config {
        news_fanout: 0,
        ..Config::default()
    };
    Membership::new(me, config, Box::new(Recorder(seen)), 3, Time::ZERO)
        .expect("a valid configuration")
}

pub(super) fn ids(core: &Membership) -> Vec<NodeId> {
    core.members().iter().map(|m| m.node).collect()
}

/// The anti-entropy digest `core` sends when ticked at `now`, a sync
/// interval after the last one.
pub(super) fn next_digest(core: &mut Membership, now: Time) -> Gossip {
    core.tick(now);
    std::iter::from_fn(|| core.poll_message())
        .map(|t| t.message)
        .find(|m| matches!(m, Gossip::Digest { .. }))
        .expect("a digest every sync interval")
}

/// Nodes a (port 1) and b (port 2), each alone, with detectors that
/// only record.
pub(super) fn two_nodes() -> (NodeId, NodeId, Membership, Membership) {
    let (a_id, b_id) = (id(1, 1), id(2, 1));
    (a_id, b_id, recorded(a_id), recorded(b_id))
}

/// `port`'s member, alive at incarnation 0, as `tell` takes it.
pub(super) fn alive(port: u16) -> (NodeId, MemberState, u64) {
    (id(port, 1), MemberState::Alive, 0)
}

/// A view missing a third of the members (an extreme gap: a join
/// storm leaves a few per node) is repaired a datagram per exchange.
#[test]
fn digests_repair_a_view_in_a_few_exchanges() {
    let (a_id, _, mut a, mut b) = two_nodes();
    let everyone: Vec<_> = (10..310).map(alive).chain([alive(1), alive(2)]).collect();
    tell(&mut b, Time::ZERO, &everyone);
    tell(&mut a, Time::ZERO, &everyone[100..]);
    // b knows a member failed that a still thinks alive.
    tell(&mut b, Time::ZERO, &[(id(250, 1), MemberState::Failed, 0)]);
    while a.poll_message().is_some() {}
    while b.poll_message().is_some() {}
    assert_eq!(ids(&a).len() + 100, ids(&b).len());

    let interval = a.config().sync_interval;
    let mut now = Time::ZERO;
    let mut exchanges = 0;
    while ids(&a) != ids(&b) {
        exchanges += 1;
        assert!(
            exchanges <= 8,
            "not repaired after {} exchanges",
            exchanges - 1
        );
        let known = ids(&a).len();
        now += interval;
        let root = next_digest(&mut a, now);
        relay(&mut a, &mut b, now, root);
        assert!(
            ids(&a).len() > known || ids(&a) == ids(&b),
            "each exchange repairs"
        );
    }
    assert!(exchanges >= 2, "a hundred members do not fit one datagram");
    let failed = a
        .members()
        .into_iter()
        .find(|m| m.node == id(250, 1))
        .unwrap();
    assert_eq!(
        failed.state,
        MemberState::Failed,
        "failures are repaired too"
    );
    assert!(b.stats().digest_repairs >= 2);

    // Views that agree get no answer.
    now += interval;
    b.handle(now, a_id.addr, next_digest(&mut a, now));
    assert!(b.poll_message().is_none());
}

/// Hands `first` from a to b, then every answer back and forth until
/// both are quiet; checks each goes to the other and fits a datagram.
fn relay(a: &mut Membership, b: &mut Membership, now: Time, first: Gossip) {
    let (a_addr, b_addr) = (a.id().addr, b.id().addr);
    b.handle(now, a_addr, first);
    for _ in 0..10 {
        let to_a: Vec<_> = std::iter::from_fn(|| b.poll_message()).collect();
        for t in &to_a {
            assert_eq!(t.to, a_addr, "the answer goes to the digest's sender");
            assert!(t.len <= b.config().datagram_limit);
        }
        for t in to_a {
            a.handle(now, b_addr, t.message);
        }
        let to_b: Vec<_> = std::iter::from_fn(|| a.poll_message()).collect();
        if to_b.is_empty() {
            return;
        }
        for t in to_b {
            assert_eq!(t.to, b_addr);
            b.handle(now, a_addr, t.message);
        }
    }
    panic!("an exchange that does not end");
}

#[test]
fn one_digest_exchange_repairs_both_sides() {
    let (a_id, b_id, mut a, mut b) = two_nodes();
    let common: Vec<_> = (10..60).map(alive).chain([alive(1), alive(2)]).collect();
    tell(&mut a, Time::ZERO, &common);
    tell(&mut b, Time::ZERO, &common);
    tell(
        &mut a,
        Time::ZERO,
        &(100..105).map(alive).collect::<Vec<_>>(),
    );
    tell(
        &mut b,
        Time::ZERO,
        &(200..205).map(alive).collect::<Vec<_>>(),
    );
    while a.poll_message().is_some() {}
    while b.poll_message().is_some() {}

    let now = a.config().sync_interval;
    // a's periodic digest is a root: one summary of its whole list.
    let root = next_digest(&mut a, now);
    let Gossip::Digest {
        buckets: 1,
        ref summaries,
        reply: false,
        ..
    } = root
    else {
        panic!("a root, not {root:?}");
    };
    assert_eq!(summaries.len(), 4);
    b.handle(now, a_id.addr, root);
    // b's list differs and spans several buckets: it answers with a
    // digest of its own, which a answers as any digest.
    let expand: Vec<_> = std::iter::from_fn(|| b.poll_message()).collect();
    assert_eq!(expand.len(), 1, "{expand:?}");
    assert!(matches!(
        expand[0].message,
        Gossip::Digest { reply: false, buckets, .. } if buckets > 1
    ));
    for t in expand {
        a.handle(now, b_id.addr, t.message);
    }
    let mut replies = 0;
    while let Some(t) = a.poll_message() {
        assert_eq!(t.to, b_id.addr);
        if let Gossip::Digest { reply, .. } = &t.message {
            assert!(*reply, "a's digest is a reply");
            replies += 1;
        }
        b.handle(now, a_id.addr, t.message);
    }
    assert_eq!(replies, 1, "a digests back what differed");
    while let Some(t) = b.poll_message() {
        assert_eq!(t.to, a_id.addr);
        assert!(
            !matches!(t.message, Gossip::Digest { .. }),
            "a reply digest gets no digest back"
        );
        a.handle(now, b_id.addr, t.message);
    }
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(
        ids(&a).len(),
        52 + 10 + 1,
        "every member, and tell's sender"
    );
    // Only the exchange a started counts as one of its own; answering
    // one, as b did, does not.
    assert_eq!((a.stats().anti_entropy, b.stats().anti_entropy), (1, 0));
    a.contact(now, b_id.addr);
    assert_eq!(a.stats().anti_entropy, 2, "a merge the driver asked for");
}

#[test]
fn a_digest_of_no_valid_split_is_counted_and_dropped() {
    let mut b = recorded(id(2, 1));
    tell(&mut b, Time::ZERO, &[(id(1, 1), MemberState::Alive, 0)]);
    while b.poll_message().is_some() {}
    let digest = |buckets: u32, first: u32, summaries: usize| Gossip::Digest {
        sender: id(1, 1),
        reply: false,
        buckets,
        first,
        summaries: vec![0xab; summaries],
    };
    for bad in [
        digest(3, 0, 8),
        digest(0, 0, 0),
        digest(2048, 0, 8),
        digest(64, 60, 8 * 5),
        digest(64, u32::MAX, 8),
        digest(64, 0, 7),
    ] {
        b.handle(Time::ZERO, id(1, 1).addr, bad);
    }
    assert_eq!(b.stats().malformed_digests, 6);
    assert!(b.poll_message().is_none());
}
