//! The plugin in the simulator's in-memory harness ([`rumor_sim::Cluster`]),
//! registered into the caller's registry like any out-of-tree detector: it
//! detects a crash and nothing else, and it meets the contract every
//! built-in detector is held to ([`rumor_sim::contract`]).

use std::sync::LazyLock;
use std::time::Duration;

use rumor_membership::{DetectorRegistry, EventKind};
use rumor_sim::{Cluster, contract};

static REGISTRY: LazyLock<DetectorRegistry> = LazyLock::new(|| {
    let mut registry = rumor_sim::registry();
    rumor_example_all_to_all::register(&mut registry);
    registry
});

const NAME: &str = rumor_example_all_to_all::NAME;

#[test]
fn all_to_all_detects_a_crash_and_nothing_else() {
    let mut cluster = Cluster::builder(5)
        .detector(NAME)
        .join_window(Duration::from_millis(50))
        .wire(true)
        .build(&REGISTRY)
        .expect("all-to-all is registered");
    cluster.run_until(Duration::from_secs(3));
    assert!(cluster.is_full_membership());
    let victim = cluster.id(2).expect("node 2 runs");
    cluster.crash(2);
    cluster.run_until(Duration::from_secs(6));
    let failed: Vec<_> = cluster
        .events()
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
            .all(|e| e.member == victim && &*e.detector == NAME)
    );
    assert!(
        failed
            .iter()
            .all(|e| e.at <= Duration::from_secs(3) + Duration::from_millis(2500)),
        "{failed:?}"
    );
    let stats = cluster.stats();
    assert_eq!((stats.wire_errors, stats.drops.oversized), (0, 0));
}

#[test]
fn every_node_sees_the_other_nine_join() {
    contract::joins(&REGISTRY, NAME).unwrap();
}

#[test]
fn one_crash() {
    contract::crashes(&REGISTRY, NAME, 1, 0.0).unwrap();
}

#[test]
fn five_of_ten_crash_at_once() {
    contract::crashes(&REGISTRY, NAME, 5, 0.0).unwrap();
}

#[test]
fn one_crash_with_ten_percent_drop() {
    contract::crashes(&REGISTRY, NAME, 1, 0.1).unwrap();
}

#[test]
fn a_leave_shows_as_left_everywhere() {
    contract::leave(&REGISTRY, NAME).unwrap();
}
