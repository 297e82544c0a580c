//! Faults a cluster must come back from, for every built-in detector:
//! partitions one way and both ways, a node cut off alone, and members
//! paused again and again (a GC pause, a starved CPU), on the simulator's
//! harness with every message through the real codec.

mod support;

use std::time::Duration;

use rumor_membership::{EventKind, MemberState, NodeId};
use rumor_sim::Cluster;
use support::{DETECTORS, assert_wire_clean, cluster, core, id};

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
