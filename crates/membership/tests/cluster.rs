//! Whole-crate behaviour on small in-memory clusters, for every built-in
//! detector: joins, detection bounds, accuracy under drop, refutation,
//! leaves, restarts, fail-stop rejoin, partitions and pauses.
//!
//! The clusters are the simulator's ([`rumor_sim::Cluster`]) with every
//! message carried through the real codec (`wire`): each transmit is drained
//! as bytes, checked and decoded for its receiver, and every test ends by
//! checking that no message failed the codec and none was oversized.

use std::sync::LazyLock;
use std::time::Duration;

use rumor_membership::{
    DetectorRegistry, Event, EventKind, Gossip, Incarnation, MemberState, MemberUpdate, NodeId,
    Time,
};
use rumor_sim::{Bootstrap, Cluster};

const DETECTORS: &[&str] = &["gossip", "swim", "phi"];

static REGISTRY: LazyLock<DetectorRegistry> = LazyLock::new(DetectorRegistry::with_builtins);

/// The timing goal with the default configuration (the contract is 3 s /
/// 6 s): the suspicion budget of 1.5 s lets a member paused for 1.2 s
/// refute in time, and a crash is still known everywhere well inside the
/// contract.
const FIRST_DETECTION: Duration = Duration::from_millis(2500);
const ALL_DETECTION: Duration = Duration::from_millis(4000);

/// `n` nodes: node 0 founds the cluster, the others start within 10 ms
/// each of joining (0.5 ms latency plus up to 0.5 ms jitter, receiver-side
/// drop `loss`), played to the end of that window.
fn cluster(n: usize, detector: &str, loss: f64, seed: u64) -> Cluster<'static> {
    cluster_with(n, detector, loss, seed, Duration::from_millis(500))
}

/// As [`cluster`], a leaving node running on for `linger` before it stops.
fn cluster_with(
    n: usize,
    detector: &str,
    loss: f64,
    seed: u64,
    linger: Duration,
) -> Cluster<'static> {
    let window = Duration::from_millis(10) * (n as u32 - 1);
    let mut cluster = Cluster::builder(n)
        .detector(detector)
        .loss(loss)
        .seed(seed)
        .join_window(window)
        .leave_linger(linger)
        .wire(true)
        .build(&REGISTRY)
        .expect("a valid cluster");
    cluster.run_until(window);
    cluster
}

fn id(cluster: &Cluster, slot: usize) -> NodeId {
    cluster
        .id(slot)
        .unwrap_or_else(|| panic!("node {slot} runs"))
}

fn core<'c>(cluster: &'c Cluster<'_>, slot: usize) -> &'c rumor_membership::Membership {
    cluster
        .core(slot)
        .unwrap_or_else(|| panic!("node {slot} runs a rumor core"))
}

/// Every message went through the codec intact and fitted its datagram.
fn assert_wire_clean(cluster: &Cluster, what: &str) {
    let stats = cluster.stats();
    assert_eq!(stats.wire_errors, 0, "{what}: messages failed the codec");
    assert_eq!(stats.drops.oversized, 0, "{what}: oversized datagrams");
    assert!(stats.datagrams > 0, "{what}: nothing was sent");
}

fn events_of<'c>(cluster: &'c Cluster<'_>, kind: EventKind, member: NodeId) -> Vec<&'c Event> {
    cluster
        .events()
        .iter()
        .filter(|e| e.kind == kind && e.member == member)
        .collect()
}

/// The kinds of event `observer` gave about `member`, in order.
fn kinds(cluster: &Cluster, observer: NodeId, member: NodeId) -> Vec<EventKind> {
    cluster
        .events()
        .iter()
        .filter(|e| e.observer == observer && e.member == member)
        .map(|e| e.kind)
        .collect()
}

/// Failed events about members still running (not crashed, not left) at
/// the end: false positives.
fn false_positives<'c>(cluster: &'c Cluster) -> Vec<&'c Event> {
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

fn update(node: NodeId, state: MemberState, incarnation: u64) -> MemberUpdate {
    MemberUpdate {
        node,
        state,
        incarnation: Incarnation(incarnation),
    }
}

#[test]
fn every_node_sees_every_other_join() {
    for detector in DETECTORS {
        let mut cluster = cluster(10, detector, 0.0, 1);
        cluster.run_for(Duration::from_secs(2));
        for i in 0..10 {
            let observer = id(&cluster, i);
            for j in 0..10 {
                let member = id(&cluster, j);
                let joined = kinds(&cluster, observer, member)
                    .into_iter()
                    .filter(|&k| k == EventKind::Joined)
                    .count();
                assert_eq!(
                    joined, 1,
                    "{detector}: {observer} saw {member} join {joined} times"
                );
            }
            assert_eq!(core(&cluster, i).live_count(), 10, "{detector}");
        }
        assert!(false_positives(&cluster).is_empty());
        let suspected = cluster
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Suspected)
            .count();
        assert_eq!(suspected, 0, "{detector}: suspicions in a lossless cluster");
        assert_wire_clean(&cluster, detector);
    }
}

/// Crashes `victims` at once and checks first and all-member detection.
fn check_detection(detector: &str, drop: f64, victims: &[usize], seed: u64) {
    let mut cluster = cluster(10, detector, drop, seed);
    cluster.run_for(Duration::from_secs(5));
    let crash_at = cluster.now();
    let ids: Vec<NodeId> = victims.iter().map(|&v| id(&cluster, v)).collect();
    for &v in victims {
        cluster.crash(v);
    }
    cluster.run_for(Duration::from_secs(8));
    let live = cluster.live_slots();
    assert_eq!(live.len(), 10 - victims.len());
    for victim in ids {
        let failed = events_of(&cluster, EventKind::Failed, victim);
        let first = failed
            .iter()
            .map(|e| e.at - crash_at)
            .min()
            .unwrap_or_else(|| panic!("{detector} seed {seed}: {victim} never detected"));
        assert!(
            first <= FIRST_DETECTION,
            "{detector} drop {drop} seed {seed}: first detection of {victim} after {first:?}"
        );
        for &o in &live {
            let observer = id(&cluster, o);
            let at = failed
                .iter()
                .find(|e| e.observer == observer)
                .map(|e| e.at - crash_at)
                .unwrap_or_else(|| {
                    panic!("{detector} seed {seed}: {observer} never marked {victim} failed")
                });
            assert!(
                at <= ALL_DETECTION,
                "{detector} drop {drop} seed {seed}: {observer} detected {victim} after {at:?}"
            );
        }
    }
    let false_positives = false_positives(&cluster);
    assert!(
        false_positives.is_empty(),
        "{detector} seed {seed}: false positives {false_positives:?}"
    );
    if drop > 0.0 {
        assert!(cluster.stats().drops.receiver > 0, "nothing was dropped");
    }
    assert_wire_clean(&cluster, detector);
}

#[test]
fn one_crash_is_detected_within_bounds() {
    for detector in DETECTORS {
        for seed in 1..=3 {
            check_detection(detector, 0.0, &[3], seed);
        }
    }
}

#[test]
fn one_crash_with_ten_percent_drop_is_detected_within_bounds() {
    for detector in DETECTORS {
        for seed in 1..=3 {
            check_detection(detector, 0.1, &[7], seed);
        }
    }
}

#[test]
fn half_the_cluster_crashing_at_once_is_detected_within_bounds() {
    for detector in DETECTORS {
        check_detection(detector, 0.0, &[1, 3, 5, 7, 9], 11);
    }
}

#[test]
fn no_false_positives_at_ten_percent_drop_over_300_virtual_seconds() {
    for detector in DETECTORS {
        let mut cluster = cluster(10, detector, 0.1, 42);
        cluster.run_for(Duration::from_secs(300));
        let false_positives = false_positives(&cluster);
        assert!(
            false_positives.is_empty(),
            "{detector}: {} false positives, first {:?}",
            false_positives.len(),
            false_positives.first()
        );
        for i in 0..10 {
            assert_eq!(core(&cluster, i).live_count(), 10, "{detector}");
            assert_eq!(core(&cluster, i).stats().rejoins, 0, "{detector}");
        }
        assert!(cluster.stats().drops.receiver > 0, "nothing was dropped");
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_leave_is_recorded_as_left_everywhere_even_under_drop() {
    for detector in DETECTORS {
        for seed in 1..=3 {
            // The leaver keeps running for a second, then its process exits.
            let mut cluster = cluster_with(10, detector, 0.1, seed, Duration::from_secs(1));
            cluster.run_for(Duration::from_secs(3));
            let leaver = id(&cluster, 4);
            cluster.leave(4);
            cluster.run_for(Duration::from_secs(1));
            assert!(!cluster.is_running(4), "the leaver's process exited");
            cluster.run_for(Duration::from_secs(10));
            assert_eq!(cluster.live_slots().len(), 9);
            for o in cluster.live_slots() {
                let observer = id(&cluster, o);
                let seen: Vec<EventKind> = kinds(&cluster, observer, leaver)
                    .into_iter()
                    .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                    .collect();
                assert_eq!(
                    seen,
                    vec![EventKind::Left],
                    "{detector} seed {seed}: {observer}"
                );
            }
            assert_wire_clean(&cluster, detector);
        }
    }
}

#[test]
fn a_leave_lost_to_drop_still_ends_as_left() {
    for detector in DETECTORS {
        // The leaver exits the moment it has sent its leave.
        let mut cluster = cluster_with(5, detector, 0.0, 9, Duration::ZERO);
        cluster.run_for(Duration::from_secs(3));
        let leaver = id(&cluster, 2);
        // Nothing the leaver sends reaches node 1: node 1 can only learn
        // of the leave from the others.
        cluster.partition_one_way(&[2], &[1]);
        cluster.leave(2);
        cluster.run_for(Duration::from_secs(10));
        assert!(!cluster.is_running(2));
        assert_eq!(cluster.live_slots().len(), 4);
        for o in cluster.live_slots() {
            let observer = id(&cluster, o);
            let seen: Vec<EventKind> = kinds(&cluster, observer, leaver)
                .into_iter()
                .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                .collect();
            assert_eq!(seen, vec![EventKind::Left], "{detector}: {observer}");
        }
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_suspicion_is_refuted_with_a_higher_incarnation() {
    for detector in DETECTORS {
        let mut cluster = cluster(4, detector, 0.0, 5);
        cluster.run_for(Duration::from_secs(2));
        let target = id(&cluster, 2);
        // Node 1 hears that node 2 is suspected at its current incarnation.
        let rumor = Gossip::Updates {
            sender: id(&cluster, 3),
            updates: vec![update(target, MemberState::Suspect, 0)],
        };
        assert!(cluster.inject(1, cluster.addr(3), rumor));
        cluster.run_for(Duration::from_secs(3));
        let observer = id(&cluster, 1);
        assert_eq!(
            kinds(&cluster, observer, target),
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Alive],
            "{detector}"
        );
        let refuted = core(&cluster, 2).stats().self_refutations;
        assert!(refuted >= 1, "{detector}: node 2 never refuted");
        for i in 0..4 {
            let info = cluster
                .members(i)
                .into_iter()
                .find(|m| m.node == target)
                .unwrap();
            assert_eq!(info.state, MemberState::Alive, "{detector}");
            assert!(
                info.incarnation.0 >= 1,
                "{detector}: incarnation not raised"
            );
        }
        assert!(false_positives(&cluster).is_empty());
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_restart_under_a_new_version_supersedes_the_old_one() {
    for detector in DETECTORS {
        let mut cluster = cluster(5, detector, 0.0, 3);
        cluster.run_for(Duration::from_secs(2));
        let old = id(&cluster, 3);
        cluster.crash(3);
        cluster.run_for(Duration::from_millis(200));
        cluster.restart(3);
        cluster.run_for(Duration::from_secs(5));
        let new = id(&cluster, 3);
        assert!(old.is_superseded_by(&new), "{detector}: {old} then {new}");
        for o in [0, 1, 2, 4] {
            let members = cluster.members(o);
            assert!(
                members
                    .iter()
                    .any(|m| m.node == new && m.state == MemberState::Alive)
            );
            assert!(
                !members.iter().any(|m| m.node == old),
                "{detector}: old version still listed at {o}"
            );
            let observer = id(&cluster, o);
            let removed = kinds(&cluster, observer, old).contains(&EventKind::Removed);
            assert!(removed, "{detector}: {observer} never removed {old}");
        }
        // The old version can never come back.
        let stale = Gossip::Updates {
            sender: old,
            updates: vec![],
        };
        assert!(cluster.inject(0, old.addr, stale));
        assert!(!cluster.members(0).iter().any(|m| m.node == old));
        let refusal = cluster
            .with_core(0, |core, now| core.handle_join_request(now, old, 1))
            .unwrap();
        assert!(matches!(refusal, Gossip::JoinRefused { .. }));
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_node_declared_failed_must_rejoin() {
    for detector in DETECTORS {
        let mut cluster = cluster(4, detector, 0.0, 8);
        cluster.run_for(Duration::from_secs(2));
        let target = id(&cluster, 1);
        let verdict = Gossip::Updates {
            sender: id(&cluster, 0),
            updates: vec![update(target, MemberState::Failed, 0)],
        };
        assert!(cluster.inject(1, cluster.addr(0), verdict));
        assert_eq!(core(&cluster, 1).stats().rejoins, 1, "{detector}");
        let reborn = id(&cluster, 1);
        assert!(reborn.version > target.version);
        assert!(target.is_superseded_by(&reborn), "{detector}: {reborn}");
        // A failed member stays failed under the same version. Node 0 has
        // not heard of the rejoin yet (its join request is still on its
        // way): node 2 tells it the old version failed, then the old
        // version itself claims to be alive at a higher incarnation.
        let failed = Gossip::Updates {
            sender: id(&cluster, 2),
            updates: vec![update(target, MemberState::Failed, 0)],
        };
        assert!(cluster.inject(0, cluster.addr(2), failed));
        let state_at_0 = |cluster: &Cluster| {
            cluster
                .members(0)
                .into_iter()
                .find(|m| m.node == target)
                .map(|m| m.state)
        };
        assert_eq!(
            state_at_0(&cluster),
            Some(MemberState::Failed),
            "{detector}"
        );
        let alive_again = Gossip::Updates {
            sender: target,
            updates: vec![update(target, MemberState::Alive, 9)],
        };
        assert!(cluster.inject(0, cluster.addr(1), alive_again));
        assert_eq!(
            state_at_0(&cluster),
            Some(MemberState::Failed),
            "{detector}: never alive again"
        );
        // The rejoined version takes its place everywhere.
        cluster.run_for(Duration::from_secs(2));
        assert!(
            cluster
                .members(0)
                .iter()
                .any(|m| m.node == reborn && m.state == MemberState::Alive),
            "{detector}: node 0 lists {reborn}"
        );
        assert!(
            matches!(state_at_0(&cluster), None | Some(MemberState::Failed)),
            "{detector}"
        );
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_node_that_keeps_talking_after_being_failed_is_told_to_rejoin() {
    for detector in DETECTORS {
        let mut cluster = cluster(3, detector, 0.0, 4);
        cluster.run_for(Duration::from_secs(2));
        let target = id(&cluster, 2);
        // Nodes 0 and 1 declare node 2 failed; node 2 never hears the verdict.
        for o in [0, 1] {
            let verdict = Gossip::Updates {
                sender: id(&cluster, 0),
                updates: vec![update(target, MemberState::Failed, 0)],
            };
            assert!(cluster.inject(o, cluster.addr(0), verdict));
        }
        cluster.run_for(Duration::from_secs(3));
        assert!(core(&cluster, 2).stats().rejoins >= 1, "{detector}");
        // Rejoined under a new version, which everyone lists.
        cluster.run_for(Duration::from_secs(5));
        let reborn = id(&cluster, 2);
        assert!(target.is_superseded_by(&reborn), "{detector}");
        for i in 0..3 {
            let live: Vec<NodeId> = cluster
                .members(i)
                .into_iter()
                .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
                .map(|m| m.node)
                .collect();
            assert!(
                live.contains(&reborn),
                "{detector}: node {i} lists {live:?}"
            );
        }
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn malformed_detector_payloads_are_counted_and_dropped() {
    for detector in DETECTORS {
        let mut cluster = cluster(3, detector, 0.0, 6);
        cluster.run_for(Duration::from_secs(1));
        let sender = id(&cluster, 1);
        let from = cluster.addr(1);
        for garbage in [vec![], vec![0xc1], vec![0x93, 0x01], vec![0xff; 40]] {
            let message = Gossip::Detector {
                detector: detector.to_string(),
                sender,
                payload: garbage,
                updates: Vec::new(),
            };
            assert!(cluster.inject(0, from, message));
        }
        let foreign = Gossip::Detector {
            detector: "someone-else".to_string(),
            sender,
            payload: vec![1, 2, 3],
            updates: Vec::new(),
        };
        assert!(cluster.inject(0, from, foreign));
        let stats = core(&cluster, 0).stats();
        assert_eq!(stats.malformed_payloads, 4, "{detector}");
        assert_eq!(stats.foreign_detector, 1, "{detector}");
        cluster.run_for(Duration::from_secs(2));
        assert_eq!(cluster.live_count(0), 3);
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn datagrams_stay_within_the_limit_at_500_members() {
    for detector in DETECTORS {
        // 500 nodes that start knowing each other alive, as a cluster
        // formed long ago.
        let mut cluster = Cluster::builder(500)
            .detector(detector)
            .seed(12)
            .bootstrap(Bootstrap::Converged)
            .wire(true)
            .build(&REGISTRY)
            .expect("a valid cluster");
        // Long enough for heartbeats, piggybacked changes and a sync round.
        cluster.run_for(Duration::from_millis(250));
        // An anti-entropy digest that matches none of node 0's buckets: its
        // answer is a bounded subset of the 500 members, one full datagram.
        let digest = Gossip::Digest {
            sender: id(&cluster, 1),
            reply: true,
            buckets: 64,
            first: 0,
            summaries: vec![0; 64 * 4],
        };
        assert!(cluster.inject(0, cluster.addr(1), digest));
        cluster.run_for(Duration::from_millis(10));
        let limit = cluster.config().datagram_limit;
        let largest = cluster.stats().largest_datagram;
        assert!(largest <= limit);
        assert!(
            largest > limit * 3 / 4,
            "{detector}: messages should fill up to the limit ({largest} bytes)"
        );
        assert_eq!(cluster.live_count(17), 500, "{detector}");
        assert!(false_positives(&cluster).is_empty(), "{detector}");
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn events_carry_observer_detector_and_time() {
    let cluster = cluster(3, "gossip", 0.0, 2);
    let first = &cluster.events()[0];
    assert_eq!(first.kind, EventKind::Joined);
    assert_eq!(
        first.member, first.observer,
        "a node first sees itself join"
    );
    assert_eq!(first.observer, id(&cluster, 0), "node 0 starts first");
    assert_eq!(&*first.detector, "gossip");
    assert_eq!(first.at, Time::ZERO);
}

#[test]
fn the_same_seed_replays_the_same_run() {
    for detector in DETECTORS {
        let run = |seed: u64| {
            let mut cluster = cluster(6, detector, 0.1, seed);
            cluster.run_for(Duration::from_secs(2));
            cluster.crash(2);
            cluster.run_for(Duration::from_secs(3));
            cluster
                .events()
                .iter()
                .map(|e| {
                    format!(
                        "{:?} {} {} {} {}",
                        e.at, e.observer, e.kind, e.member, e.incarnation
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(77), run(77), "{detector}");
        assert_ne!(run(77), run(78), "{detector}: the seed should matter");
    }
}

/// Why the cluster is not one full membership: the first node whose live
/// members differ from the running nodes.
fn why_not_one_membership(cluster: &Cluster) -> String {
    let ids: std::collections::BTreeSet<NodeId> = cluster
        .live_slots()
        .iter()
        .map(|&i| id(cluster, i))
        .collect();
    for i in cluster.live_slots() {
        let live: std::collections::BTreeSet<NodeId> = cluster
            .members(i)
            .into_iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.node)
            .collect();
        if live != ids {
            return format!(
                "node {i} ({}) lists {} live, expected {}",
                id(cluster, i),
                live.len(),
                ids.len()
            );
        }
    }
    "one full membership".into()
}

/// Runs until one full membership (checked every 100 ms) or `limit`;
/// returns the time it took.
fn time_to_heal(cluster: &mut Cluster, limit: Duration) -> Result<Duration, String> {
    let start = cluster.now();
    if cluster.run_until_holds(limit, Duration::from_millis(100), |c| {
        c.is_full_membership()
    }) {
        Ok(cluster.now() - start)
    } else {
        Err(why_not_one_membership(cluster))
    }
}

/// A partition long enough for each side to declare the other failed, then
/// healed: one full membership again within 10 s, through rejoins under
/// new versions, with the events saying so.
fn partition_heals(detector: &str, a: &[usize], b: &[usize], both_ways: bool, seed: u64) {
    let mut cluster = cluster(10, detector, 0.0, seed);
    cluster.run_for(Duration::from_secs(5));
    assert!(
        cluster.is_full_membership(),
        "{}",
        why_not_one_membership(&cluster)
    );
    let before: Vec<NodeId> = (0..10).map(|i| id(&cluster, i)).collect();
    if both_ways {
        cluster.partition(a, b);
    } else {
        cluster.partition_one_way(a, b);
    }
    cluster.run_for(Duration::from_secs(15));
    let failed_during = cluster
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Failed && before.contains(&e.member))
        .count();
    assert!(failed_during > 0, "{detector}: the partition bit");
    cluster.heal();
    let took = time_to_heal(&mut cluster, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{detector}: not healed within 10 s: {e}"));
    let rejoins = cluster.stats().rejoins;
    eprintln!(
        "{detector} {a:?}/{b:?} both_ways={both_ways}: healed in {took:?} with {rejoins} rejoins"
    );
    assert!(rejoins > 0);
    // Every rejoined version was recorded as joined by the others.
    for (i, old) in before.iter().enumerate() {
        let now = id(&cluster, i);
        if now != *old {
            let seen_by = cluster
                .events()
                .iter()
                .filter(|e| e.kind == EventKind::Joined && e.member == now && e.observer != now)
                .count();
            assert!(
                seen_by >= 9,
                "{detector}: {now} joined at only {seen_by} observers"
            );
        }
    }
    assert_wire_clean(&cluster, detector);
}

#[test]
fn a_two_way_partition_heals_into_one_membership() {
    for detector in DETECTORS {
        partition_heals(detector, &[0, 1, 2, 3, 4], &[5, 6, 7, 8, 9], true, 21);
        partition_heals(detector, &[0, 2, 4, 6, 8], &[1, 3, 5, 7, 9], true, 22);
    }
}

#[test]
fn a_one_way_partition_heals_into_one_membership() {
    for detector in DETECTORS {
        partition_heals(detector, &[0, 1, 2, 3, 4], &[5, 6, 7, 8, 9], false, 23);
    }
}

#[test]
fn a_node_cut_off_alone_rejoins_the_others_alone() {
    for detector in DETECTORS {
        let mut cluster = cluster(10, detector, 0.0, 24);
        cluster.run_for(Duration::from_secs(5));
        let before: Vec<NodeId> = (0..10).map(|i| id(&cluster, i)).collect();
        cluster.isolate(&[7]);
        cluster.run_for(Duration::from_secs(15));
        cluster.heal();
        let took = time_to_heal(&mut cluster, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{detector}: not healed within 10 s: {e}"));
        eprintln!("{detector}: isolated node back in {took:?}");
        // Only the node that was cut off took a new version.
        for i in (0..10).filter(|&i| i != 7) {
            assert_eq!(id(&cluster, i), before[i], "{detector}: node {i} rejoined");
        }
        assert_ne!(id(&cluster, 7), before[7]);
        assert_wire_clean(&cluster, detector);
    }
}

/// A member stopped for `stop` every `every` for 45 s (a GC pause, a
/// starved CPU): with the default settings nobody declares it failed, and
/// the paused member declares nobody failed either.
fn pauses_are_not_failures(detector: &str, stop: Duration, every: Duration, seed: u64) -> usize {
    let mut cluster = cluster(10, detector, 0.0, seed);
    cluster.run_for(Duration::from_secs(5));
    let paused = 4;
    let end = cluster.now() + Duration::from_secs(45);
    while cluster.now() < end {
        cluster.pause(paused, stop);
        cluster.run_for(every);
    }
    cluster.run_for(Duration::from_secs(3));
    let failed: Vec<_> = cluster
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Failed)
        .collect();
    assert!(
        failed.is_empty(),
        "{detector}, {stop:?} every {every:?}: {} failures, first {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(core(&cluster, paused).stats().rejoins, 0);
    assert!(
        core(&cluster, paused).stats().stalls > 0,
        "the pauses were stalls"
    );
    assert_eq!(
        cluster.stats().drops.receive_buffer,
        0,
        "the paused node's buffer held everything"
    );
    assert_wire_clean(&cluster, detector);
    cluster
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Suspected)
        .count()
}

#[test]
fn a_member_paused_400ms_every_1500ms_is_never_declared_failed() {
    for detector in DETECTORS {
        let suspicions = pauses_are_not_failures(
            detector,
            Duration::from_millis(400),
            Duration::from_millis(1500),
            31,
        );
        eprintln!("{detector}: 400 ms every 1.5 s: {suspicions} suspicions in 45 s");
    }
}

#[test]
fn a_member_paused_1200ms_every_3s_is_never_declared_failed() {
    for detector in DETECTORS {
        let suspicions = pauses_are_not_failures(
            detector,
            Duration::from_millis(1200),
            Duration::from_secs(3),
            32,
        );
        eprintln!("{detector}: 1.2 s every 3 s: {suspicions} suspicions in 45 s");
    }
}
