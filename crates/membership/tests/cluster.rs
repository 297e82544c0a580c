//! Whole-crate behaviour on small in-memory clusters, for every built-in
//! detector: joins, detection bounds, accuracy under drop, refutation,
//! leaves, restarts and fail-stop rejoin.

mod common;

use std::time::Duration;

use common::{Cluster, addr};
use rumor_membership::{EventKind, MemberState, Message, NodeId, Time, Version};

const DETECTORS: &[&str] = &["gossip", "swim", "phi"];

/// The timing goal with the default configuration (the contract is 3 s / 6 s).
const FIRST_DETECTION: Duration = Duration::from_millis(1500);
const ALL_DETECTION: Duration = Duration::from_millis(3000);

#[test]
fn every_node_sees_every_other_join() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(10, detector, 0.0, 1);
        cluster.run_for(Duration::from_secs(2));
        for i in 0..10 {
            let observer = cluster.id(i);
            for j in 0..10 {
                let member = cluster.id(j);
                let joined = cluster
                    .events
                    .iter()
                    .filter(|e| {
                        e.observer == observer && e.member == member && e.kind == EventKind::Joined
                    })
                    .count();
                assert_eq!(
                    joined, 1,
                    "{detector}: {observer} saw {member} join {joined} times"
                );
            }
            assert_eq!(cluster.nodes[i].core.live_count(), 10, "{detector}");
        }
        assert!(cluster.false_positives().is_empty());
        let suspected = cluster
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Suspected)
            .count();
        assert_eq!(suspected, 0, "{detector}: suspicions in a lossless cluster");
    }
}

/// Crashes `victims` at once and checks first and all-member detection.
fn check_detection(detector: &str, drop: f64, victims: &[usize], seed: u64) {
    let mut cluster = Cluster::new(10, detector, drop, seed);
    cluster.run_for(Duration::from_secs(5));
    let crash_at = cluster.now;
    for &v in victims {
        cluster.crash(v);
    }
    cluster.run_for(Duration::from_secs(8));
    let live = cluster.live_indexes();
    for &v in victims {
        let victim = cluster.id(v);
        let failed = cluster.events_of(EventKind::Failed, victim);
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
            let observer = cluster.id(o);
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
    let false_positives = cluster.false_positives();
    assert!(
        false_positives.is_empty(),
        "{detector} seed {seed}: false positives {false_positives:?}"
    );
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
        let mut cluster = Cluster::new(10, detector, 0.1, 42);
        cluster.run_for(Duration::from_secs(300));
        let false_positives = cluster.false_positives();
        assert!(
            false_positives.is_empty(),
            "{detector}: {} false positives, first {:?}",
            false_positives.len(),
            false_positives.first()
        );
        for i in 0..10 {
            assert_eq!(cluster.nodes[i].core.live_count(), 10, "{detector}");
            assert!(!cluster.nodes[i].core.must_rejoin());
        }
    }
}

#[test]
fn a_leave_is_recorded_as_left_everywhere_even_under_drop() {
    for detector in DETECTORS {
        for seed in 1..=3 {
            let mut cluster = Cluster::new(10, detector, 0.1, seed);
            cluster.run_for(Duration::from_secs(3));
            let leaver = cluster.id(4);
            cluster.leave(4);
            // The leaver keeps running for a second, then its process exits.
            cluster.run_for(Duration::from_secs(1));
            cluster.crash(4);
            cluster.run_for(Duration::from_secs(10));
            for o in cluster.live_indexes() {
                let observer = cluster.id(o);
                let seen: Vec<EventKind> = cluster
                    .events
                    .iter()
                    .filter(|e| e.observer == observer && e.member == leaver)
                    .map(|e| e.kind)
                    .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                    .collect();
                assert_eq!(
                    seen,
                    vec![EventKind::Left],
                    "{detector} seed {seed}: {observer}"
                );
            }
        }
    }
}

#[test]
fn a_leave_lost_to_drop_still_ends_as_left() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(5, detector, 0.0, 9);
        cluster.run_for(Duration::from_secs(3));
        let leaver = cluster.id(2);
        // Nothing the leaver sends reaches node 1, and the leaver exits at
        // once: node 1 can only learn of the leave from the others.
        cluster.blocked.push((2, 1));
        cluster.leave(2);
        cluster.crash(2);
        cluster.run_for(Duration::from_secs(10));
        for o in cluster.live_indexes() {
            let observer = cluster.id(o);
            let kinds: Vec<EventKind> = cluster
                .events
                .iter()
                .filter(|e| e.observer == observer && e.member == leaver)
                .map(|e| e.kind)
                .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                .collect();
            assert_eq!(kinds, vec![EventKind::Left], "{detector}: {observer}");
        }
    }
}

#[test]
fn a_suspicion_is_refuted_with_a_higher_incarnation() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(4, detector, 0.0, 5);
        cluster.run_for(Duration::from_secs(2));
        let target = cluster.id(2);
        // Node 1 hears that node 2 is suspected at its current incarnation.
        let rumor = Message::Updates {
            sender: cluster.id(3),
            updates: vec![rumor_membership::MemberUpdate {
                node: target,
                state: MemberState::Suspect,
                incarnation: rumor_membership::Incarnation(0),
            }],
        };
        cluster.inject(1, addr(3), rumor);
        cluster.run_for(Duration::from_secs(3));
        let observer = cluster.id(1);
        let kinds: Vec<EventKind> = cluster
            .events
            .iter()
            .filter(|e| e.observer == observer && e.member == target)
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![EventKind::Joined, EventKind::Suspected, EventKind::Alive],
            "{detector}"
        );
        let refuted = cluster.nodes[2].core.stats().self_refutations;
        assert!(refuted >= 1, "{detector}: node 2 never refuted");
        for i in 0..4 {
            let info = cluster.nodes[i]
                .core
                .members()
                .into_iter()
                .find(|m| m.node == target)
                .unwrap();
            assert_eq!(info.state, MemberState::Alive, "{detector}");
            assert!(
                info.incarnation.0 >= 1,
                "{detector}: incarnation not raised"
            );
        }
        assert!(cluster.false_positives().is_empty());
    }
}

#[test]
fn a_restart_under_a_new_version_supersedes_the_old_one() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(5, detector, 0.0, 3);
        cluster.run_for(Duration::from_secs(2));
        let old = cluster.id(3);
        cluster.crash(3);
        cluster.run_for(Duration::from_millis(200));
        cluster.spawn(3, 2);
        cluster.join(3, 0);
        cluster.run_for(Duration::from_secs(5));
        let new = cluster.id(3);
        assert_eq!(new.version, Version(2));
        for o in [0, 1, 2, 4] {
            let members = cluster.nodes[o].core.members();
            assert!(
                members
                    .iter()
                    .any(|m| m.node == new && m.state == MemberState::Alive)
            );
            assert!(
                !members.iter().any(|m| m.node == old),
                "{detector}: old version still listed at {o}"
            );
            let observer = cluster.id(o);
            let removed = cluster
                .events
                .iter()
                .any(|e| e.observer == observer && e.member == old && e.kind == EventKind::Removed);
            assert!(removed, "{detector}: {observer} never removed {old}");
        }
        // The old version can never come back.
        let stale = Message::Updates {
            sender: old,
            updates: vec![],
        };
        cluster.inject(0, old.addr, stale);
        assert!(
            !cluster.nodes[0]
                .core
                .members()
                .iter()
                .any(|m| m.node == old)
        );
        let refusal = cluster.nodes[0].core.handle_join_request(cluster.now, old);
        assert!(matches!(refusal, Message::JoinRefused { .. }));
    }
}

#[test]
fn a_node_declared_failed_must_rejoin() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(4, detector, 0.0, 8);
        cluster.run_for(Duration::from_secs(2));
        let target = cluster.id(1);
        let verdict = Message::Updates {
            sender: cluster.id(0),
            updates: vec![rumor_membership::MemberUpdate {
                node: target,
                state: MemberState::Failed,
                incarnation: rumor_membership::Incarnation(0),
            }],
        };
        cluster.inject(1, addr(0), verdict);
        assert!(cluster.nodes[1].core.must_rejoin(), "{detector}");
        assert_eq!(cluster.nodes[1].core.poll_timeout(), None);
        // A failed member stays failed under the same version.
        cluster.inject(
            0,
            addr(1),
            Message::Updates {
                sender: cluster.id(0),
                updates: vec![rumor_membership::MemberUpdate {
                    node: target,
                    state: MemberState::Failed,
                    incarnation: rumor_membership::Incarnation(0),
                }],
            },
        );
        cluster.inject(
            0,
            addr(1),
            Message::Updates {
                sender: target,
                updates: vec![rumor_membership::MemberUpdate {
                    node: target,
                    state: MemberState::Alive,
                    incarnation: rumor_membership::Incarnation(9),
                }],
            },
        );
        let state = cluster.nodes[0]
            .core
            .members()
            .into_iter()
            .find(|m| m.node == target)
            .map(|m| m.state);
        assert_eq!(state, Some(MemberState::Failed), "{detector}");
    }
}

#[test]
fn a_node_that_keeps_talking_after_being_failed_is_told_to_rejoin() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(3, detector, 0.0, 4);
        cluster.run_for(Duration::from_secs(2));
        let target = cluster.id(2);
        // Nodes 0 and 1 declare node 2 failed; node 2 never hears the verdict.
        for o in [0, 1] {
            cluster.inject(
                o,
                addr(0),
                Message::Updates {
                    sender: cluster.id(0),
                    updates: vec![rumor_membership::MemberUpdate {
                        node: target,
                        state: MemberState::Failed,
                        incarnation: rumor_membership::Incarnation(0),
                    }],
                },
            );
        }
        cluster.run_for(Duration::from_secs(3));
        assert!(cluster.nodes[2].core.must_rejoin(), "{detector}");
    }
}

#[test]
fn malformed_detector_payloads_are_counted_and_dropped() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(3, detector, 0.0, 6);
        cluster.run_for(Duration::from_secs(1));
        let sender = cluster.id(1);
        for garbage in [vec![], vec![0xc1], vec![0x93, 0x01], vec![0xff; 40]] {
            cluster.inject(
                0,
                addr(1),
                Message::Detector {
                    detector: detector.to_string(),
                    sender,
                    payload: garbage,
                },
            );
        }
        cluster.inject(
            0,
            addr(1),
            Message::Detector {
                detector: "someone-else".to_string(),
                sender,
                payload: vec![1, 2, 3],
            },
        );
        let stats = cluster.nodes[0].core.stats();
        assert_eq!(stats.malformed_payloads, 4, "{detector}");
        assert_eq!(stats.foreign_detector, 1, "{detector}");
        cluster.run_for(Duration::from_secs(2));
        assert_eq!(cluster.nodes[0].core.live_count(), 3);
    }
}

#[test]
fn datagrams_stay_within_the_limit_at_500_members() {
    for detector in DETECTORS {
        let mut cluster = Cluster::bootstrapped(500, detector, 0.0, 12);
        // Long enough for heartbeats, piggybacked changes and a sync round.
        cluster.run_for(Duration::from_millis(250));
        // An anti-entropy digest that matches none of node 0's buckets: its
        // answer is a bounded subset of the 500 members, one full datagram.
        let sender = cluster.id(1);
        cluster.inject(
            0,
            addr(1),
            Message::Digest {
                sender,
                reply: true,
                buckets: 64,
                first: 0,
                summaries: vec![0; 64 * 4],
            },
        );
        cluster.run_for(Duration::from_millis(10));
        assert!(cluster.largest_datagram <= cluster.config.datagram_limit);
        assert!(
            cluster.largest_datagram > cluster.config.datagram_limit * 3 / 4,
            "{detector}: messages should fill up to the limit ({} bytes)",
            cluster.largest_datagram
        );
        assert_eq!(cluster.nodes[17].core.live_count(), 500, "{detector}");
        assert!(cluster.false_positives().is_empty(), "{detector}");
    }
}

#[test]
fn events_carry_observer_detector_and_time() {
    let cluster = Cluster::new(3, "gossip", 0.0, 2);
    let first = &cluster.events[0];
    assert_eq!(first.kind, EventKind::Joined);
    assert_eq!(
        first.member, first.observer,
        "a node first sees itself join"
    );
    assert_eq!(&*first.detector, "gossip");
    assert_eq!(first.at, Time::ZERO);
    let _ = NodeId::new(addr(0), Version(1));
}

#[test]
fn the_same_seed_replays_the_same_run() {
    for detector in DETECTORS {
        let run = |seed: u64| {
            let mut cluster = Cluster::new(6, detector, 0.1, seed);
            cluster.run_for(Duration::from_secs(2));
            cluster.crash(2);
            cluster.run_for(Duration::from_secs(3));
            cluster
                .events
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
