//! Property tests of the core as a state machine: whatever the network says,
//! in whatever order, the events each member goes through follow the
//! state diagram, failed and left are final for a version, and no message
//! exceeds the datagram limit.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;
use rumor_membership::{
    Config, DetectorRegistry, EventKind, Gossip, Incarnation, MemberState, MemberUpdate,
    Membership, NodeId, Time, Version,
};

fn node(port: u16, version: u64) -> NodeId {
    NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(version))
}

/// Port 1 is the core under test (version 1).
fn any_node() -> impl Strategy<Value = NodeId> {
    (1u16..5, 1u64..4).prop_map(|(p, v)| node(p, v))
}

fn any_state() -> impl Strategy<Value = MemberState> {
    prop_oneof![
        Just(MemberState::Alive),
        Just(MemberState::Suspect),
        Just(MemberState::Failed),
        Just(MemberState::Left),
    ]
}

fn any_update() -> impl Strategy<Value = MemberUpdate> {
    (any_node(), any_state(), 0u64..4).prop_map(|(node, state, inc)| MemberUpdate {
        node,
        state,
        incarnation: Incarnation(inc),
    })
}

#[derive(Debug, Clone)]
enum Input {
    Updates(NodeId, Vec<MemberUpdate>),
    Leave(NodeId, u64),
    Join(NodeId),
    Garbage(NodeId, Vec<u8>),
    Advance(u64),
    LeaveSelf,
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (any_node(), proptest::collection::vec(any_update(), 0..6))
            .prop_map(|(s, u)| Input::Updates(s, u)),
        1 => (any_node(), 0u64..4).prop_map(|(n, i)| Input::Leave(n, i)),
        1 => any_node().prop_map(Input::Join),
        1 => (any_node(), proptest::collection::vec(any::<u8>(), 0..16))
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn events_follow_the_state_diagram(
        detector in prop_oneof![Just("gossip"), Just("swim"), Just("phi")],
        inputs in proptest::collection::vec(any_input(), 1..60),
    ) {
        let config = Config::default();
        let registry = DetectorRegistry::with_builtins();
        let me = node(1, 1);
        let mut core = Membership::new(
            me,
            config.clone(),
            registry.create(detector, &rumor_membership::DetectorSettings::new(&config)).unwrap(),
            7,
            Time::ZERO,
        )
            .expect("a valid configuration");
        let mut now = Time::ZERO;
        let mut last: BTreeMap<NodeId, EventKind> = BTreeMap::new();
        let mut observer = me;
        let mut buf = Vec::new();
        for input in inputs {
            match input {
                Input::Updates(sender, updates) => {
                    core.handle(now, sender.addr, Gossip::Updates { sender, updates, extras: Default::default() })
                }
                Input::Leave(n, inc) => core.handle(
                    now,
                    n.addr,
                    Gossip::Leave { node: n, incarnation: Incarnation(inc) },
                ),
                Input::Join(n) => {
                    let answer = core.handle_join_request(now, n, 1);
                    let ok = matches!(answer, Gossip::JoinResponse { .. } | Gossip::JoinRefused { .. });
                    prop_assert!(ok);
                }
                Input::Garbage(sender, payload) => core.handle(
                    now,
                    sender.addr,
                    Gossip::Detector { detector: detector.to_string(), sender, payload,
    updates: Vec::new(), extras: Default::default(),
},
                ),
                Input::Advance(ms) => {
                    now += Duration::from_millis(ms);
                    while let Some(at) = core.poll_timeout() {
                        if at > now {
                            break;
                        }
                        core.tick(at.max(Time::ZERO));
                    }
                    core.tick(now);
                }
                Input::LeaveSelf => core.leave(now),
            }
            while let Some(event) = core.poll_event() {
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
                    "{} went {:?} -> {:?}", event.member, previous, event.kind
                );
                // A version never joins after a newer one of its address.
                if event.kind == EventKind::Joined {
                    let newer_seen = last.keys().any(|m| event.member.is_superseded_by(m));
                    prop_assert!(!newer_seen, "{} joined after a newer version", event.member);
                }
                last.insert(event.member, event.kind);
            }
            // What the core hands out is the exact envelope, within the
            // datagram limit, and decodes.
            while let Some(transmit) = core.poll_transmit(&mut buf) {
                prop_assert_eq!(transmit.len, buf.len());
                if transmit.channel == rumor_membership::Channel::Datagram {
                    prop_assert!(buf.len() <= config.datagram_limit);
                }
                let envelope = rumor_wire::decode(&buf).expect("the core's own encoding decodes");
                prop_assert_eq!(envelope.from, core.id().addr);
            }
            let members = core.members();
            let mut addrs: Vec<SocketAddr> = members.iter().map(|m| m.node.addr).collect();
            addrs.dedup();
            prop_assert_eq!(addrs.len(), members.len(), "two versions of one address listed");
            prop_assert_eq!(core.id().addr, me.addr);
        }
    }
}
