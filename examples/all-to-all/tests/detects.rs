//! Runs the plugin in a tiny lock-step loop: five cores, messages delivered
//! after 1 ms, one crash.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rumor_membership::{
    Config, DetectorRegistry, DetectorSettings, EventKind, Gossip, Membership, NodeId, Time,
    Version,
};

fn node(i: usize) -> NodeId {
    NodeId::new(
        SocketAddr::from(([127, 0, 0, 1], 5000 + i as u16)),
        Version(1),
    )
}

#[test]
fn all_to_all_detects_a_crash_and_nothing_else() {
    let mut registry = DetectorRegistry::with_builtins();
    rumor_example_all_to_all::register(&mut registry);
    let config = Config::default();
    let mut nodes: Vec<Membership> = (0..5)
        .map(|i| {
            let detector = registry
                .create("all-to-all", &DetectorSettings::new(&config))
                .unwrap();
            Membership::new(node(i), config.clone(), detector, i as u64, Time::ZERO)
                .expect("a valid configuration")
        })
        .collect();
    for i in 1..5 {
        nodes[i].join(Time::ZERO, vec![node(0).addr]);
        let request = nodes[i].poll_message().expect("a join request");
        let Gossip::JoinRequest {
            node: joiner,
            nonce,
            ..
        } = request.message
        else {
            panic!("the first transmit of a joiner is its join request")
        };
        let answer = nodes[0].handle_join_request(Time::ZERO, joiner, nonce);
        nodes[i].handle(Time::ZERO, node(0).addr, answer);
    }
    let mut crashed = [false; 5];
    let mut in_flight: VecDeque<(Time, usize, SocketAddr, Gossip)> = VecDeque::new();
    let mut events = Vec::new();
    let step = Duration::from_millis(1);
    let mut now = Time::ZERO;
    while now < Duration::from_secs(6) {
        now += step;
        if now == Duration::from_secs(3) {
            crashed[2] = true;
        }
        while in_flight.front().is_some_and(|(at, ..)| *at <= now) {
            let (_, to, from, message) = in_flight.pop_front().unwrap();
            if !crashed[to] {
                nodes[to].handle(now, from, message);
            }
        }
        for i in 0..5 {
            if crashed[i] {
                continue;
            }
            if nodes[i].poll_timeout().is_some_and(|t| t <= now) {
                nodes[i].tick(now);
            }
            while let Some(t) = nodes[i].poll_message() {
                let to = (t.to.port() - 5000) as usize;
                in_flight.push_back((now + step, to, node(i).addr, t.message));
            }
            while let Some(e) = nodes[i].poll_event() {
                events.push(e);
            }
        }
    }
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        4,
        "every live node marks node 2 failed: {failed:?}"
    );
    assert!(
        failed
            .iter()
            .all(|e| e.member == node(2) && &*e.detector == "all-to-all")
    );
    assert!(
        failed
            .iter()
            .all(|e| e.at <= Duration::from_secs(3) + Duration::from_millis(2500)),
        "{failed:?}"
    );
}
