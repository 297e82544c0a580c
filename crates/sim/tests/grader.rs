//! Grader-style checks, per detector, on 10 nodes: joins are seen everywhere,
//! crashes are detected by the first node within 3 s and by every live node
//! within 6 s, no live node is ever marked failed, and a leave shows as `left`
//! everywhere. Deterministic: each check runs a fixed set of seeds.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rumor_membership::{Event, EventKind, NodeId};
use rumor_sim::{RunOptions, RunOutcome, Scenario, registry, run};

const SEEDS: [u64; 3] = [1, 2, 3];
const WARMUP: Duration = Duration::from_secs(5);

fn scenario(detector: &str) -> Scenario {
    Scenario {
        nodes: 10,
        detector: Some(detector.to_owned()),
        warmup: WARMUP,
        // Long enough for the 6 s bound, short enough that t_delete (30 s)
        // never removes anyone.
        duration: WARMUP + Duration::from_secs(9),
        ..Scenario::default()
    }
}

fn simulate(s: &Scenario, seed: u64) -> RunOutcome {
    let options = RunOptions {
        record_events: true,
        record_members: true,
        wall_time: false,
    };
    run(s, seed, &registry(), options).expect("scenario is valid")
}

/// Every node a run started, and the nodes still live at its end.
fn live_nodes(outcome: &RunOutcome) -> Vec<NodeId> {
    outcome.members.iter().map(|(id, _)| *id).collect()
}

fn events_of(outcome: &RunOutcome, kind: EventKind) -> Vec<&Event> {
    outcome.events.iter().filter(|e| e.kind == kind).collect()
}

fn all_joined(detector: &str) {
    for seed in SEEDS {
        let outcome = simulate(&scenario(detector), seed);
        let live = live_nodes(&outcome);
        assert_eq!(live.len(), 10, "seed {seed}: every node runs");
        let mut seen: HashMap<NodeId, HashSet<NodeId>> = HashMap::new();
        for e in events_of(&outcome, EventKind::Joined) {
            seen.entry(e.observer).or_default().insert(e.member);
        }
        for observer in &live {
            for member in &live {
                assert!(
                    seen.get(observer).is_some_and(|s| s.contains(member)),
                    "{detector} seed {seed}: {observer} never saw {member} join"
                );
            }
        }
        assert_accurate(detector, seed, &outcome);
    }
}

fn assert_accurate(detector: &str, seed: u64, outcome: &RunOutcome) {
    let r = &outcome.report;
    assert_eq!(
        (
            r.false_positives,
            r.false_positive_marks,
            r.left_marked_failed
        ),
        (0, 0, 0),
        "{detector} seed {seed}: a live or departed member was marked failed"
    );
    // The same, checked on the raw events against the simulator's truth.
    let crashed: HashSet<String> = r.crashes.iter().map(|c| c.node.clone()).collect();
    for e in events_of(outcome, EventKind::Failed) {
        assert!(
            crashed.contains(&e.member.to_string()),
            "{detector} seed {seed}: {} marked live {} failed at {:?}",
            e.observer,
            e.member,
            e.at
        );
    }
    assert_eq!(
        r.drops.oversized, 0,
        "{detector} seed {seed}: oversized datagram"
    );
}

/// Completeness from the raw events: every live node marks every crashed
/// node failed within 6 s, and some node within 3 s.
fn assert_complete(detector: &str, seed: u64, outcome: &RunOutcome, crashes: usize) {
    let r = &outcome.report;
    assert_eq!(r.crashes.len(), crashes, "{detector} seed {seed}");
    let live = live_nodes(outcome);
    for c in &r.crashes {
        let marks: HashMap<NodeId, Duration> = events_of(outcome, EventKind::Failed)
            .into_iter()
            .filter(|e| e.member.to_string() == c.node)
            .map(|e| (e.observer, e.at - Duration::from_secs_f64(c.at_s)))
            .collect();
        for observer in &live {
            let after = marks.get(observer).unwrap_or_else(|| {
                panic!(
                    "{detector} seed {seed}: {observer} never marked {} failed",
                    c.node
                )
            });
            assert!(
                *after <= Duration::from_secs(6),
                "{detector} seed {seed}: {observer} marked {} failed after {after:?}",
                c.node
            );
        }
        let first = marks
            .values()
            .min()
            .expect("marked by every live node above");
        assert!(
            *first <= Duration::from_secs(3),
            "{detector} seed {seed}: first detection of {} after {first:?}",
            c.node
        );
        // The report agrees with the raw events.
        assert_eq!(c.observers_detected, c.observers_required);
        assert!(c.all_member_s.unwrap() <= 6.0 && c.first_detection_s.unwrap() <= 3.0);
    }
}

fn crashes(detector: &str, fail: usize, loss: f64) {
    for seed in SEEDS {
        let s = Scenario {
            fail,
            loss,
            ..scenario(detector)
        };
        let outcome = simulate(&s, seed);
        assert_eq!(live_nodes(&outcome).len(), 10 - fail);
        assert_complete(detector, seed, &outcome, fail);
        assert_accurate(detector, seed, &outcome);
        if loss > 0.0 {
            assert!(
                outcome.report.drops.receiver > 0,
                "the drop layer dropped nothing"
            );
        }
    }
}

fn leave(detector: &str) {
    for seed in SEEDS {
        let s = Scenario {
            leave: 1,
            ..scenario(detector)
        };
        let outcome = simulate(&s, seed);
        let l = &outcome.report.leaves[0];
        let live = live_nodes(&outcome);
        assert_eq!(live.len(), 9);
        let left: HashSet<NodeId> = events_of(&outcome, EventKind::Left)
            .into_iter()
            .filter(|e| e.member.to_string() == l.node)
            .map(|e| e.observer)
            .collect();
        for observer in &live {
            assert!(
                left.contains(observer),
                "{detector} seed {seed}: {observer} never saw {} leave",
                l.node
            );
        }
        // And their member lists say so.
        for (observer, members) in &outcome.members {
            let entry = members.iter().find(|m| m.node.to_string() == l.node);
            if let Some(m) = entry {
                assert_eq!(
                    m.state,
                    rumor_membership::MemberState::Left,
                    "{detector} seed {seed}: {observer} lists the leaver as {:?}",
                    m.state
                );
            }
        }
        assert_eq!(
            (l.observers_marked_left, l.marked_failed),
            (l.observers_required, 0)
        );
        assert_accurate(detector, seed, &outcome);
    }
}

macro_rules! grader {
    ($($module:ident => $name:expr),* $(,)?) => {$(
        mod $module {
            #[test]
            fn every_node_sees_the_other_nine_join() {
                super::all_joined($name);
            }
            #[test]
            fn one_crash() {
                super::crashes($name, 1, 0.0);
            }
            #[test]
            fn five_of_ten_crash_at_once() {
                super::crashes($name, 5, 0.0);
            }
            #[test]
            fn one_crash_with_ten_percent_drop() {
                super::crashes($name, 1, 0.1);
            }
            #[test]
            fn a_leave_shows_as_left_everywhere() {
                super::leave($name);
            }
        }
    )*};
}

grader! {
    gossip => "gossip",
    swim => "swim",
    phi => "phi",
    all_to_all => "all-to-all",
}
