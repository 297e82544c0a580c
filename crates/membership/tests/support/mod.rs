//! Thin helpers over the simulator's harness ([`rumor_sim::Cluster`]) shared
//! by this crate's cluster tests: small clusters of the built-in detectors
//! with every message through the real codec, and the questions the tests
//! ask of them.

#![allow(dead_code)]

use std::sync::LazyLock;
use std::time::Duration;

use rumor_membership::{
    DetectorRegistry, Event, EventKind, Incarnation, MemberState, MemberUpdate, Membership, NodeId,
};
use rumor_sim::{Cluster, ClusterBuilder};

pub const DETECTORS: &[&str] = &["gossip", "swim", "phi"];

pub static REGISTRY: LazyLock<DetectorRegistry> = LazyLock::new(DetectorRegistry::with_builtins);

/// The timing goal with the default configuration (the contract is 3 s /
/// 6 s): the suspicion budget of 1.5 s lets a member paused for 1.2 s
/// refute in time, and a crash is still known everywhere well inside the
/// contract.
pub const FIRST_DETECTION: Duration = Duration::from_millis(2500);
pub const ALL_DETECTION: Duration = Duration::from_millis(4000);

/// `n` nodes: node 0 founds the cluster, the others start within 10 ms
/// each of joining (0.5 ms latency plus up to 0.5 ms jitter, receiver-side
/// drop `loss`), played to the end of that window.
pub fn cluster(n: usize, detector: &str, loss: f64, seed: u64) -> Cluster<'static> {
    cluster_with(n, detector, loss, seed, Duration::from_millis(500))
}

/// As [`cluster`], a leaving node running on for `linger` before it stops.
pub fn cluster_with(
    n: usize,
    detector: &str,
    loss: f64,
    seed: u64,
    linger: Duration,
) -> Cluster<'static> {
    cluster_built(n, detector, loss, seed, |b| b.leave_linger(linger))
}

/// As [`cluster`], the builder passed through `more` first: a
/// configuration, nodes' metadata, calls on each new core, nodes held
/// back to start later.
pub fn cluster_built(
    n: usize,
    detector: &str,
    loss: f64,
    seed: u64,
    more: impl FnOnce(ClusterBuilder) -> ClusterBuilder,
) -> Cluster<'static> {
    let window = Duration::from_millis(10) * (n as u32 - 1);
    let builder = Cluster::builder(n)
        .detector(detector)
        .loss(loss)
        .seed(seed)
        .join_window(window)
        .wire(true);
    let mut cluster = more(builder).build(&REGISTRY).expect("a valid cluster");
    cluster.run_until(window);
    cluster
}

pub fn id(cluster: &Cluster, slot: usize) -> NodeId {
    cluster
        .id(slot)
        .unwrap_or_else(|| panic!("node {slot} runs"))
}

pub fn core<'c>(cluster: &'c Cluster<'_>, slot: usize) -> &'c Membership {
    cluster
        .core(slot)
        .unwrap_or_else(|| panic!("node {slot} runs a rumor core"))
}

/// Every message went through the codec intact and fitted its datagram.
pub fn assert_wire_clean(cluster: &Cluster, what: &str) {
    let stats = cluster.stats();
    assert_eq!(stats.wire_errors, 0, "{what}: messages failed the codec");
    assert_eq!(stats.drops.oversized, 0, "{what}: oversized datagrams");
    assert!(stats.datagrams > 0, "{what}: nothing was sent");
}

pub fn events_of<'c>(cluster: &'c Cluster<'_>, kind: EventKind, member: NodeId) -> Vec<&'c Event> {
    cluster
        .events()
        .iter()
        .filter(|e| e.kind == kind && e.member == member)
        .collect()
}

/// The kinds of event `observer` gave about `member`, in order.
pub fn kinds(cluster: &Cluster, observer: NodeId, member: NodeId) -> Vec<EventKind> {
    cluster
        .events()
        .iter()
        .filter(|e| e.observer == observer && e.member == member)
        .map(|e| e.kind)
        .collect()
}

/// Failed events about members still running (not crashed, not left) at
/// the end: false positives.
pub fn false_positives<'c>(cluster: &'c Cluster) -> Vec<&'c Event> {
    let live: Vec<NodeId> = cluster
        .live_slots()
        .into_iter()
        .map(|s| id(cluster, s))
        .collect();
    cluster
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Failed && live.contains(&e.member))
        .collect()
}

pub fn update(node: NodeId, state: MemberState, incarnation: u64) -> MemberUpdate {
    MemberUpdate {
        node,
        state,
        incarnation: Incarnation(incarnation),
    }
}
