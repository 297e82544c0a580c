//! Whole-crate behaviour on small in-memory clusters, for every built-in
//! detector: joins, detection bounds, accuracy under drop, refutation,
//! leaves, restarts and fail-stop rejoin.

mod common;

use std::time::Duration;

use common::{Cluster, addr};
use rumor_membership::{Clue, EventKind, Gossip, MemberState, NodeId, Time, Version};

const DETECTORS: &[&str] = &["gossip", "swim", "phi"];

/// The timing goal with the default configuration (the contract is 3 s /
/// 6 s): the suspicion budget of 1.5 s lets a member paused for 1.2 s
/// refute in time, and a crash is still known everywhere well inside the
/// contract.
const FIRST_DETECTION: Duration = Duration::from_millis(2500);
const ALL_DETECTION: Duration = Duration::from_millis(4000);

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
            assert_eq!(cluster.nodes[i].core.stats().rejoins, 0, "{detector}");
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
fn a_forced_leave_spreads_to_every_member_and_keeps_the_removal_time() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(5, detector, 0.0, 3);
        cluster.run_for(Duration::from_secs(3));
        let gone = cluster.id(2);
        cluster.crash(2);
        cluster.run_for(Duration::from_secs(8));
        let live = cluster.live_indexes();
        let verdict_at = |cluster: &Cluster, observer: NodeId| -> Time {
            cluster
                .events_of(EventKind::Failed, gone)
                .iter()
                .find(|e| e.observer == observer)
                .map(|e| e.at)
                .unwrap_or_else(|| panic!("{detector}: {observer} never marked {gone} failed"))
        };
        let now = cluster.now;
        cluster.nodes[0].core.force_leave(now, gone).unwrap();
        cluster.run_for(Duration::from_secs(3));
        let t_delete = cluster.config.t_delete;
        for &o in &live {
            let observer = cluster.id(o);
            let kinds: Vec<EventKind> = cluster
                .events
                .iter()
                .filter(|e| e.observer == observer && e.member == gone)
                .map(|e| e.kind)
                .filter(|k| matches!(k, EventKind::Left | EventKind::Failed))
                .collect();
            assert_eq!(
                kinds,
                vec![EventKind::Failed, EventKind::Left],
                "{detector}: {observer}"
            );
            let core = &cluster.nodes[o].core;
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
            let observer = cluster.id(o);
            let removed = cluster
                .events_of(EventKind::Removed, gone)
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
    }
}

#[test]
fn a_suspicion_is_refuted_with_a_higher_incarnation() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(4, detector, 0.0, 5);
        cluster.run_for(Duration::from_secs(2));
        let target = cluster.id(2);
        // Node 1 hears that node 2 is suspected at its current incarnation.
        let rumor = Gossip::Updates {
            sender: cluster.id(3),
            updates: vec![rumor_membership::MemberUpdate {
                node: target,
                state: MemberState::Suspect,
                incarnation: rumor_membership::Incarnation(0),
            }],
            extras: Default::default(),
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
        let stale = Gossip::Updates {
            sender: old,
            updates: vec![],
            extras: Default::default(),
        };
        cluster.inject(0, old.addr, stale);
        assert!(
            !cluster.nodes[0]
                .core
                .members()
                .iter()
                .any(|m| m.node == old)
        );
        let refusal = cluster.nodes[0]
            .core
            .handle_join_request(cluster.now, old, 1);
        assert!(matches!(refusal, Gossip::JoinRefused { .. }));
    }
}

#[test]
fn a_node_declared_failed_must_rejoin() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(4, detector, 0.0, 8);
        cluster.run_for(Duration::from_secs(2));
        let target = cluster.id(1);
        let verdict = Gossip::Updates {
            sender: cluster.id(0),
            updates: vec![rumor_membership::MemberUpdate {
                node: target,
                state: MemberState::Failed,
                incarnation: rumor_membership::Incarnation(0),
            }],
            extras: Default::default(),
        };
        cluster.inject(1, addr(0), verdict);
        assert_eq!(cluster.nodes[1].core.stats().rejoins, 1, "{detector}");
        let reborn = cluster.id(1);
        assert!(reborn.is_superseded_by(&reborn) || reborn.version > target.version);
        assert!(target.is_superseded_by(&reborn), "{detector}: {reborn}");
        // A failed member stays failed under the same version.
        cluster.inject(
            0,
            addr(1),
            Gossip::Updates {
                sender: cluster.id(0),
                updates: vec![rumor_membership::MemberUpdate {
                    node: target,
                    state: MemberState::Failed,
                    incarnation: rumor_membership::Incarnation(0),
                }],
                extras: Default::default(),
            },
        );
        cluster.inject(
            0,
            addr(1),
            Gossip::Updates {
                sender: target,
                updates: vec![rumor_membership::MemberUpdate {
                    node: target,
                    state: MemberState::Alive,
                    incarnation: rumor_membership::Incarnation(9),
                }],
                extras: Default::default(),
            },
        );
        let state = cluster.nodes[0]
            .core
            .members()
            .into_iter()
            .find(|m| m.node == target)
            .map(|m| m.state);
        // Failed, or already superseded by the rejoined version: never
        // alive again.
        assert!(
            matches!(state, None | Some(MemberState::Failed)),
            "{detector}: {state:?}"
        );
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
                Gossip::Updates {
                    sender: cluster.id(0),
                    updates: vec![rumor_membership::MemberUpdate {
                        node: target,
                        state: MemberState::Failed,
                        incarnation: rumor_membership::Incarnation(0),
                    }],
                    extras: Default::default(),
                },
            );
        }
        cluster.run_for(Duration::from_secs(3));
        assert!(cluster.nodes[2].core.stats().rejoins >= 1, "{detector}");
        // Rejoined under a new version, which everyone lists.
        cluster.run_for(Duration::from_secs(5));
        let reborn = cluster.id(2);
        assert!(target.is_superseded_by(&reborn), "{detector}");
        for i in 0..3 {
            let live: Vec<NodeId> = cluster.nodes[i]
                .core
                .members()
                .into_iter()
                .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
                .map(|m| m.node)
                .collect();
            assert!(
                live.contains(&reborn),
                "{detector}: node {i} lists {live:?}"
            );
        }
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
                Gossip::Detector {
                    detector: detector.to_string(),
                    sender,
                    payload: garbage,
                    updates: Vec::new(),
                    extras: Default::default(),
                },
            );
        }
        cluster.inject(
            0,
            addr(1),
            Gossip::Detector {
                detector: "someone-else".to_string(),
                sender,
                payload: vec![1, 2, 3],
                updates: Vec::new(),
                extras: Default::default(),
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
            Gossip::Digest {
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

/// Every running node lists exactly the current ids of all running nodes
/// as live: one full membership.
fn one_membership(cluster: &Cluster) -> Result<(), String> {
    let ids: std::collections::BTreeSet<NodeId> = cluster
        .live_indexes()
        .iter()
        .map(|&i| cluster.id(i))
        .collect();
    for i in cluster.live_indexes() {
        let live: std::collections::BTreeSet<NodeId> = cluster.nodes[i]
            .core
            .members()
            .into_iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.node)
            .collect();
        if live != ids {
            return Err(format!(
                "node {i} ({}) lists {} live, expected {}",
                cluster.id(i),
                live.len(),
                ids.len()
            ));
        }
    }
    Ok(())
}

/// Runs until one full membership or `limit`; returns the time it took.
fn time_to_heal(cluster: &mut Cluster, limit: Duration) -> Result<Duration, String> {
    let start = cluster.now;
    loop {
        if one_membership(cluster).is_ok() {
            return Ok(cluster.now - start);
        }
        if cluster.now - start >= limit {
            return Err(one_membership(cluster).unwrap_err());
        }
        cluster.run_for(Duration::from_millis(100));
    }
}

fn cut(cluster: &mut Cluster, a: &[usize], b: &[usize], both_ways: bool) {
    for &x in a {
        for &y in b {
            cluster.blocked.push((x, y));
            if both_ways {
                cluster.blocked.push((y, x));
            }
        }
    }
}

/// A partition long enough for each side to declare the other failed, then
/// healed: one full membership again within 10 s, through rejoins under
/// new versions, with the events saying so.
fn partition_heals(detector: &str, a: &[usize], b: &[usize], both_ways: bool, seed: u64) {
    let mut cluster = Cluster::new(10, detector, 0.0, seed);
    cluster.run_for(Duration::from_secs(5));
    one_membership(&cluster).unwrap();
    let before: Vec<NodeId> = (0..10).map(|i| cluster.id(i)).collect();
    cut(&mut cluster, a, b, both_ways);
    cluster.run_for(Duration::from_secs(15));
    let failed_during = cluster
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Failed && before.contains(&e.member))
        .count();
    assert!(failed_during > 0, "{detector}: the partition bit");
    cluster.blocked.clear();
    let took = time_to_heal(&mut cluster, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{detector}: not healed within 10 s: {e}"));
    let rejoins: u64 = (0..10).map(|i| cluster.nodes[i].core.stats().rejoins).sum();
    eprintln!(
        "{detector} {a:?}/{b:?} both_ways={both_ways}: healed in {took:?} with {rejoins} rejoins"
    );
    assert!(rejoins > 0);
    // Every rejoined version was recorded as joined by the others.
    for (i, old) in before.iter().enumerate() {
        let now = cluster.id(i);
        if now != *old {
            let seen_by = cluster
                .events
                .iter()
                .filter(|e| e.kind == EventKind::Joined && e.member == now && e.observer != now)
                .count();
            assert!(
                seen_by >= 9,
                "{detector}: {now} joined at only {seen_by} observers"
            );
        }
    }
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
        let mut cluster = Cluster::new(10, detector, 0.0, 24);
        cluster.run_for(Duration::from_secs(5));
        let others: Vec<usize> = (0..10).filter(|&i| i != 7).collect();
        let before: Vec<NodeId> = (0..10).map(|i| cluster.id(i)).collect();
        cut(&mut cluster, &[7], &others, true);
        cluster.run_for(Duration::from_secs(15));
        cluster.blocked.clear();
        let took = time_to_heal(&mut cluster, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{detector}: not healed within 10 s: {e}"));
        eprintln!("{detector}: isolated node back in {took:?}");
        // Only the node that was cut off took a new version.
        for i in others {
            assert_eq!(cluster.id(i), before[i], "{detector}: node {i} rejoined");
        }
        assert_ne!(cluster.id(7), before[7]);
    }
}

/// A member stopped for `stop` every `every` for 45 s (a GC pause, a
/// starved CPU): with the default settings nobody declares it failed, and
/// the paused member declares nobody failed either.
fn pauses_are_not_failures(detector: &str, stop: Duration, every: Duration, seed: u64) -> usize {
    let mut cluster = Cluster::new(10, detector, 0.0, seed);
    cluster.run_for(Duration::from_secs(5));
    let paused = 4;
    let end = cluster.now + Duration::from_secs(45);
    while cluster.now < end {
        cluster.pause(paused, stop);
        cluster.run_for(every);
    }
    cluster.run_for(Duration::from_secs(3));
    let failed: Vec<_> = cluster
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Failed)
        .collect();
    assert!(
        failed.is_empty(),
        "{detector}, {stop:?} every {every:?}: {} failures, first {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(cluster.nodes[paused].core.stats().rejoins, 0);
    assert!(
        cluster.nodes[paused].core.stats().stalls > 0,
        "the pauses were stalls"
    );
    cluster
        .events
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
