//! Whole-crate behaviour on small in-memory clusters, for every built-in
//! detector: joins, detection bounds, accuracy under drop, refutation,
//! leaves, restarts, fail-stop rejoin, malformed input, datagram sizes and
//! replay from a seed. Partitions and pauses are in `healing.rs`.
//!
//! The clusters are the simulator's ([`rumor_sim::Cluster`]) with every
//! message carried through the real codec (`wire`): each transmit is drained
//! as bytes, checked and decoded for its receiver, and every test ends by
//! checking that no message failed the codec and none was oversized.

mod support;

use std::time::Duration;

use rumor_membership::{Clue, EventKind, Gossip, MemberState, NodeId, Time};
use rumor_sim::{Bootstrap, Cluster};
use support::{
    ALL_DETECTION, DETECTORS, FIRST_DETECTION, REGISTRY, assert_wire_clean, cluster, cluster_with,
    core, events_of, false_positives, id, kinds, update,
};

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
fn a_forced_leave_spreads_to_every_member_and_keeps_the_removal_time() {
    for detector in DETECTORS {
        let mut cluster = cluster(5, detector, 0.0, 3);
        cluster.run_for(Duration::from_secs(3));
        let gone = id(&cluster, 2);
        cluster.crash(2);
        cluster.run_for(Duration::from_secs(8));
        let live = cluster.live_slots();
        let verdict_at = |cluster: &Cluster, observer: NodeId| -> Time {
            events_of(cluster, EventKind::Failed, gone)
                .iter()
                .find(|e| e.observer == observer)
                .map(|e| e.at)
                .unwrap_or_else(|| panic!("{detector}: {observer} never marked {gone} failed"))
        };
        cluster
            .with_core(0, |core, now| core.force_leave(now, gone))
            .expect("node 0 runs")
            .unwrap();
        cluster.run_for(Duration::from_secs(3));
        let t_delete = cluster.config().t_delete;
        for &o in &live {
            let observer = id(&cluster, o);
            let left_or_failed: Vec<EventKind> = kinds(&cluster, observer, gone)
                .into_iter()
                .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                .collect();
            assert_eq!(
                left_or_failed,
                vec![EventKind::Failed, EventKind::Left],
                "{detector}: {observer}"
            );
            let core = core(&cluster, o);
            let history = core.history(&gone);
            let last = history.last().map(|t| t.clue);
            assert_eq!(last, Some(Clue::Left { forced: true }), "{detector}");
            assert!(
                core.members()
                    .iter()
                    .any(|m| m.node == gone && m.state == MemberState::Left)
            );
        }
        // Each member deletes it `t_delete` after its own verdict, as it
        // would have had it stayed failed.
        cluster.run_for(t_delete);
        for &o in &live {
            let observer = id(&cluster, o);
            let removed = events_of(&cluster, EventKind::Removed, gone)
                .iter()
                .find(|e| e.observer == observer)
                .map(|e| e.at)
                .unwrap_or_else(|| panic!("{detector}: {observer} never removed {gone}"));
            let after = removed - verdict_at(&cluster, observer);
            assert!(
                after >= t_delete && after < t_delete + Duration::from_millis(200),
                "{detector}: {observer} removed {gone} {after:?} after its verdict"
            );
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
            extras: Default::default(),
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
            extras: Default::default(),
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
            extras: Default::default(),
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
            extras: Default::default(),
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
            extras: Default::default(),
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
                extras: Default::default(),
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
                extras: Default::default(),
            };
            assert!(cluster.inject(0, from, message));
        }
        let foreign = Gossip::Detector {
            detector: "someone-else".to_string(),
            sender,
            payload: vec![1, 2, 3],
            updates: Vec::new(),
            extras: Default::default(),
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
