//! The contract every failure detector is held to, as checks any caller can
//! run on a detector of its registry: on 10 nodes, every node sees every
//! other join; a crash is marked `failed` by some node within 3 s and by
//! every live node within 6 s; no live node is ever marked failed; a leave
//! shows as `left` everywhere and never as `failed`. Each check runs seeds
//! 1, 2 and 3 and gives the first violation as text.
//!
//! The simulator's tests run them for the built-in detectors, and
//! `examples/all-to-all` for its own:
//!
//! ```no_run
//! use rumor_sim::contract;
//!
//! let registry = rumor_sim::registry();
//! contract::joins(&registry, "swim").unwrap();
//! contract::crashes(&registry, "swim", 1, 0.1).unwrap();
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rumor_membership::{DetectorRegistry, Event, EventKind, MemberState, NodeId};

use crate::{RunOptions, RunOutcome, Scenario, run};

/// The seeds every check runs.
pub const SEEDS: [u64; 3] = [1, 2, 3];
/// When the faults come.
const WARMUP: Duration = Duration::from_secs(5);
/// Some node marks a crashed node failed within this.
pub const FIRST_DETECTION: Duration = Duration::from_secs(3);
/// Every live node marks a crashed node failed within this.
pub const ALL_DETECTION: Duration = Duration::from_secs(6);

/// Fails with the formatted message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// The scenario of every check: 10 nodes, faults at 5 s, long enough for
/// the 6 s bound and short enough that `t_delete` (30 s) removes nobody.
fn scenario(detector: &str) -> Scenario {
    Scenario {
        nodes: 10,
        detector: Some(detector.to_owned()),
        warmup: WARMUP,
        duration: WARMUP + Duration::from_secs(9),
        ..Scenario::default()
    }
}

fn simulate(registry: &DetectorRegistry, s: &Scenario, seed: u64) -> Result<RunOutcome, String> {
    let options = RunOptions::default().with_events(true).with_members(true);
    run(s, seed, registry, options).map_err(|e| e.to_string())
}

/// The nodes still live at the end of a run.
fn live_nodes(outcome: &RunOutcome) -> Vec<NodeId> {
    outcome.members.iter().map(|(id, _)| *id).collect()
}

fn events_of(outcome: &RunOutcome, kind: EventKind) -> impl Iterator<Item = &Event> {
    outcome.events.iter().filter(move |e| e.kind == kind)
}

/// Every node sees every node join (itself included), and nobody is
/// marked failed.
pub fn joins(registry: &DetectorRegistry, detector: &str) -> Result<(), String> {
    for seed in SEEDS {
        let outcome = simulate(registry, &scenario(detector), seed)?;
        let live = live_nodes(&outcome);
        ensure!(live.len() == 10, "seed {seed}: {} nodes run", live.len());
        let mut seen: HashMap<NodeId, HashSet<NodeId>> = HashMap::new();
        for e in events_of(&outcome, EventKind::Joined) {
            seen.entry(e.observer).or_default().insert(e.member);
        }
        for observer in &live {
            for member in &live {
                ensure!(
                    seen.get(observer).is_some_and(|s| s.contains(member)),
                    "{detector} seed {seed}: {observer} never saw {member} join"
                );
            }
        }
        accurate(detector, seed, &outcome)?;
    }
    Ok(())
}

/// `fail` random nodes crash together under receiver-side drop `loss`:
/// every live node marks each failed within [`ALL_DETECTION`], some node
/// within [`FIRST_DETECTION`], nobody else is marked failed, and the
/// report agrees with the raw events.
pub fn crashes(
    registry: &DetectorRegistry,
    detector: &str,
    fail: usize,
    loss: f64,
) -> Result<(), String> {
    for seed in SEEDS {
        let s = Scenario {
            fail,
            loss,
            ..scenario(detector)
        };
        let outcome = simulate(registry, &s, seed)?;
        let live = live_nodes(&outcome);
        ensure!(
            live.len() == 10 - fail,
            "seed {seed}: {} nodes live",
            live.len()
        );
        complete(detector, seed, &outcome, fail)?;
        accurate(detector, seed, &outcome)?;
        ensure!(
            loss == 0.0 || outcome.report.drops.receiver > 0,
            "{detector} seed {seed}: the drop layer dropped nothing"
        );
    }
    Ok(())
}

/// One random node leaves: every live node records `left`, lists it so,
/// and nobody marks it failed.
pub fn leave(registry: &DetectorRegistry, detector: &str) -> Result<(), String> {
    for seed in SEEDS {
        let s = Scenario {
            leave: 1,
            ..scenario(detector)
        };
        let outcome = simulate(registry, &s, seed)?;
        let l = &outcome.report.leaves[0];
        let live = live_nodes(&outcome);
        ensure!(live.len() == 9, "seed {seed}: {} nodes live", live.len());
        let left: HashSet<NodeId> = events_of(&outcome, EventKind::Left)
            .filter(|e| e.member.to_string() == l.node)
            .map(|e| e.observer)
            .collect();
        for observer in &live {
            ensure!(
                left.contains(observer),
                "{detector} seed {seed}: {observer} never saw {} leave",
                l.node
            );
        }
        for (observer, members) in &outcome.members {
            if let Some(m) = members.iter().find(|m| m.node.to_string() == l.node) {
                ensure!(
                    m.state == MemberState::Left,
                    "{detector} seed {seed}: {observer} lists the leaver as {:?}",
                    m.state
                );
            }
        }
        ensure!(
            (l.observers_marked_left, l.marked_failed) == (l.observers_required, 0),
            "{detector} seed {seed}: the report says {l:?}"
        );
        accurate(detector, seed, &outcome)?;
    }
    Ok(())
}

/// No live or departed member marked failed (by the report and by the raw
/// events against the simulator's truth), no oversized datagram.
fn accurate(detector: &str, seed: u64, outcome: &RunOutcome) -> Result<(), String> {
    let r = &outcome.report;
    ensure!(
        (
            r.false_positives,
            r.false_positive_marks,
            r.left_marked_failed
        ) == (0, 0, 0),
        "{detector} seed {seed}: a live or departed member was marked failed"
    );
    let crashed: HashSet<&str> = r.crashes.iter().map(|c| c.node.as_str()).collect();
    for e in events_of(outcome, EventKind::Failed) {
        ensure!(
            crashed.contains(e.member.to_string().as_str()),
            "{detector} seed {seed}: {} marked live {} failed at {:?}",
            e.observer,
            e.member,
            e.at
        );
    }
    ensure!(
        r.drops.oversized == 0,
        "{detector} seed {seed}: oversized datagram"
    );
    Ok(())
}

/// Completeness from the raw events, and the report's agreement.
fn complete(detector: &str, seed: u64, outcome: &RunOutcome, crashes: usize) -> Result<(), String> {
    let r = &outcome.report;
    ensure!(
        r.crashes.len() == crashes,
        "{detector} seed {seed}: {} crashes",
        r.crashes.len()
    );
    let live = live_nodes(outcome);
    for c in &r.crashes {
        let marks: HashMap<NodeId, Duration> = events_of(outcome, EventKind::Failed)
            .filter(|e| e.member.to_string() == c.node)
            .map(|e| (e.observer, e.at - Duration::from_secs_f64(c.at_s)))
            .collect();
        for observer in &live {
            let Some(after) = marks.get(observer) else {
                return Err(format!(
                    "{detector} seed {seed}: {observer} never marked {} failed",
                    c.node
                ));
            };
            ensure!(
                *after <= ALL_DETECTION,
                "{detector} seed {seed}: {observer} marked {} failed after {after:?}",
                c.node
            );
        }
        let first = marks.values().min();
        ensure!(
            first.is_some_and(|first| *first <= FIRST_DETECTION),
            "{detector} seed {seed}: first detection of {} after {first:?}",
            c.node
        );
        ensure!(
            c.observers_detected == c.observers_required
                && c.all_member_s
                    .is_some_and(|s| s <= ALL_DETECTION.as_secs_f64())
                && c.first_detection_s
                    .is_some_and(|s| s <= FIRST_DETECTION.as_secs_f64()),
            "{detector} seed {seed}: the report says {c:?}"
        );
    }
    Ok(())
}
