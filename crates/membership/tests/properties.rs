//! Property tests of the core as a state machine: whatever the network says,
//! in whatever order, the events each member goes through follow the
//! state diagram, failed and left are final for a version, and no message
//! exceeds the datagram limit.
//!
//! The core under test is the one node of a simulated cluster
//! ([`rumor_sim::Cluster`]) whose messages go through the real codec
//! (`wire`): every transmit is drained as bytes and checked (its length,
//! that it decodes, that it names the node's address, that a datagram fits
//! the limit). The members the inputs speak for are addresses of slots 0–3
//! (slot 0 is the node itself) at three versions each, the node's own
//! version the first; none of them runs, so the inputs are all the node
//! hears, and its join requests to them fail as unreachable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use proptest::prelude::*;
use rumor_membership::{
    DetectorRegistry, EventKind, Gossip, Incarnation, MemberState, MemberUpdate, NodeId, Time,
    Version,
};
use rumor_sim::{Cluster, slot_addr};

static REGISTRY: LazyLock<DetectorRegistry> = LazyLock::new(DetectorRegistry::with_builtins);

/// A member the inputs speak for: a slot's address at a version
/// `offset` above the node's own first version.
#[derive(Debug, Clone, Copy)]
struct Peer {
    slot: usize,
    offset: u64,
}

impl Peer {
    fn id(self, base: Version) -> NodeId {
        NodeId::new(slot_addr(self.slot), Version(base.0 + self.offset))
    }
}

/// Slot 0, offset 0 is the core under test.
fn any_peer() -> impl Strategy<Value = Peer> {
    (0usize..4, 0u64..3).prop_map(|(slot, offset)| Peer { slot, offset })
}

fn any_state() -> impl Strategy<Value = MemberState> {
    prop_oneof![
        Just(MemberState::Alive),
        Just(MemberState::Suspect),
        Just(MemberState::Failed),
        Just(MemberState::Left),
    ]
}

fn any_update() -> impl Strategy<Value = (Peer, MemberState, u64)> {
    (any_peer(), any_state(), 0u64..4)
}

#[derive(Debug, Clone)]
enum Input {
    Updates(Peer, Vec<(Peer, MemberState, u64)>),
    Leave(Peer, u64),
    Join(Peer),
    Garbage(Peer, Vec<u8>),
    Advance(u64),
    LeaveSelf,
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (any_peer(), proptest::collection::vec(any_update(), 0..6))
            .prop_map(|(s, u)| Input::Updates(s, u)),
        1 => (any_peer(), 0u64..4).prop_map(|(n, i)| Input::Leave(n, i)),
        1 => any_peer().prop_map(Input::Join),
        1 => (any_peer(), proptest::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(s, g)| Input::Garbage(s, g)),
        3 => (0u64..1500).prop_map(Input::Advance),
        1 => Just(Input::LeaveSelf),
    ]
}

/// Which event may follow which, for one member as one observer sees it.
fn allowed(previous: Option<EventKind>, next: EventKind) -> bool {
    use EventKind::*;
    match (previous, next) {
        (None, Joined) => true,
        (None, _) => false,
        (Some(Joined | Alive), Suspected | Failed | Left | Removed) => true,
        (Some(Suspected), Alive | Failed | Left | Removed) => true,
        (Some(Failed | Left), Removed) => true,
        // A failed member forced out (rumor force-leave), or its news.
        (Some(Failed), Left) => true,
        _ => false,
    }
}

/// Feeds `inputs` to a one-node cluster running `detector` and checks,
/// after each, the events it gave, the codec checks and its member list.
fn check(detector: &str, inputs: &[Input]) -> Result<(), TestCaseError> {
    let mut cluster = Cluster::builder(1)
        .detector(detector)
        .seed(7)
        .wire(true)
        .build(&REGISTRY)
        .expect("a valid cluster");
    cluster.run_until(Time::ZERO);
    let me = cluster.id(0).expect("node 0 started");
    let base = me.version;
    let at = |p: Peer| p.id(base);
    let mut seen = 0;
    let mut last: BTreeMap<NodeId, EventKind> = BTreeMap::new();
    let mut observer = me;
    for input in inputs {
        match input {
            Input::Updates(sender, updates) => {
                let updates = updates
                    .iter()
                    .map(|&(node, state, inc)| MemberUpdate {
                        node: at(node),
                        state,
                        incarnation: Incarnation(inc),
                    })
                    .collect();
                let sender = at(*sender);
                cluster.inject(
                    0,
                    sender.addr,
                    Gossip::Updates {
                        sender,
                        updates,
                        extras: Default::default(),
                    },
                );
            }
            Input::Leave(n, inc) => {
                let node = at(*n);
                let leave = Gossip::Leave {
                    node,
                    incarnation: Incarnation(*inc),
                };
                cluster.inject(0, node.addr, leave);
            }
            Input::Join(n) => {
                let joiner = at(*n);
                let answer = cluster
                    .with_core(0, |core, now| core.handle_join_request(now, joiner, 1))
                    .expect("the node runs");
                let ok = matches!(
                    answer,
                    Gossip::JoinResponse { .. } | Gossip::JoinRefused { .. }
                );
                prop_assert!(ok);
            }
            Input::Garbage(sender, payload) => {
                let sender = at(*sender);
                let message = Gossip::Detector {
                    detector: detector.to_string(),
                    sender,
                    payload: payload.clone(),
                    updates: Vec::new(),
                    extras: Default::default(),
                };
                cluster.inject(0, sender.addr, message);
            }
            Input::Advance(ms) => cluster.run_for(Duration::from_millis(*ms)),
            Input::LeaveSelf => {
                cluster.with_core(0, |core, now| core.leave(now));
            }
        }
        for event in &cluster.events()[seen..] {
            // A rejoin starts a new version of this node with a view of
            // its own.
            prop_assert_eq!(event.observer.addr, me.addr);
            if event.observer != observer {
                prop_assert!(observer.is_superseded_by(&event.observer));
                observer = event.observer;
                last.clear();
            }
            let previous = last.get(&event.member).copied();
            prop_assert!(
                allowed(previous, event.kind),
                "{} went {:?} -> {:?}",
                event.member,
                previous,
                event.kind
            );
            // A version never joins after a newer one of its address.
            if event.kind == EventKind::Joined {
                let newer_seen = last.keys().any(|m| event.member.is_superseded_by(m));
                prop_assert!(!newer_seen, "{} joined after a newer version", event.member);
            }
            last.insert(event.member, event.kind);
        }
        seen = cluster.events().len();
        // What the core handed out is the exact envelope, decodes, names
        // its own address, and a datagram fits the limit.
        let stats = cluster.stats();
        prop_assert_eq!(stats.wire_errors, 0);
        prop_assert_eq!(stats.drops.oversized, 0);
        let members = cluster.members(0);
        let mut addrs: Vec<SocketAddr> = members.iter().map(|m| m.node.addr).collect();
        addrs.dedup();
        prop_assert_eq!(
            addrs.len(),
            members.len(),
            "two versions of one address listed"
        );
        prop_assert_eq!(cluster.id(0).map(|id| id.addr), Some(me.addr));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn events_follow_the_state_diagram(
        detector in prop_oneof![Just("gossip"), Just("swim"), Just("phi")],
        inputs in proptest::collection::vec(any_input(), 1..60),
    ) {
        check(detector, &inputs)?;
    }
}

const fn peer(slot: usize, offset: u64) -> Peer {
    Peer { slot, offset }
}

/// A failure proptest once found: news of a newer version of the node
/// itself, from itself.
#[test]
fn news_of_a_newer_self_from_itself() {
    let inputs = [
        Input::Updates(
            peer(0, 0),
            vec![
                (peer(1, 0), MemberState::Alive, 0),
                (peer(0, 1), MemberState::Alive, 0),
            ],
        ),
        Input::Advance(111),
    ];
    check("gossip", &inputs).unwrap();
}

/// A failure proptest once found: a node that left hears of itself and of
/// a member failed, then alive again under the same version.
#[test]
fn a_left_node_hears_a_failed_member_come_back() {
    let inputs = [
        Input::LeaveSelf,
        Input::Updates(peer(0, 0), vec![]),
        Input::Leave(peer(0, 0), 0),
        Input::Updates(peer(2, 1), vec![(peer(2, 1), MemberState::Failed, 0)]),
        Input::Updates(peer(0, 0), vec![(peer(2, 1), MemberState::Alive, 0)]),
    ];
    check("gossip", &inputs).unwrap();
}
