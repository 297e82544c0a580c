//! How a simulated cluster forms: `converged` starts every node with the
//! whole member list and no join traffic; faults then play out as usual.

use std::time::Duration;

use rumor_membership::MemberState;
use rumor_sim::{ActionKind, ActionSpec, Bootstrap, RunOptions, Scenario, registry, run};

const S: fn(u64) -> Duration = Duration::from_secs;

fn converged(nodes: usize, detector: &str) -> Scenario {
    let mut scenario = Scenario::default();
    scenario.nodes = nodes;
    scenario.detector = Some(detector.into());
    scenario.bootstrap = Bootstrap::Converged;
    scenario.warmup = S(2);
    scenario.duration = S(6);
    scenario
}

#[test]
fn converged_starts_with_full_views_and_no_joins_on_the_wire() {
    let mut s = converged(40, "swim");
    s.duration = Duration::from_millis(1);
    s.warmup = Duration::ZERO;
    let options = RunOptions::default().with_members(true);
    let out = run(&s, 3, &registry(), options).unwrap();
    let r = &out.report;
    assert_eq!(r.full_view_s, Some(0.0), "{r:?}");
    // Each node records its own start; the view it is handed is no news.
    assert_eq!(r.joined_events, 40);
    assert_eq!(r.joins_refused, 0);
    assert_eq!(out.members.len(), 40);
    for (node, members) in &out.members {
        assert_eq!(members.len(), 40, "{node} lists everyone, itself included");
        assert!(members.iter().all(|m| m.state == MemberState::Alive));
    }
}

#[test]
fn crashes_in_a_converged_cluster_are_detected_by_everyone() {
    for detector in ["swim", "gossip"] {
        let mut s = converged(60, detector);
        s.fail = 3;
        s.loss = 0.05;
        let r = run(&s, 5, &registry(), RunOptions::default())
            .unwrap()
            .report;
        assert_eq!(r.crashes.len(), 3);
        for c in &r.crashes {
            let all = c
                .all_member_s
                .unwrap_or_else(|| panic!("{detector}: not seen by all: {c:?}"));
            assert!(all <= 6.0, "{detector}: {c:?}");
        }
        assert_eq!(r.false_positives, 0, "{detector}: {r:?}");
    }
}

#[test]
fn a_node_restarted_in_a_converged_cluster_rejoins_through_the_introducer() {
    let crash = ActionSpec::new(S(2), ActionKind::Crash, vec![7]);
    let restart = ActionSpec::new(S(5), ActionKind::Restart, vec![]);
    let mut s = converged(20, "swim");
    s.duration = S(10);
    s.actions = vec![crash, restart];
    let options = RunOptions::default().with_members(true);
    let out = run(&s, 9, &registry(), options).unwrap();
    assert_eq!(out.report.joins_refused, 0);
    let restarted = out
        .members
        .iter()
        .map(|(id, _)| *id)
        .find(|id| id.addr == rumor_sim::slot_addr(7))
        .expect("slot 7 runs again");
    assert!(out.report.crashes[0].all_member_s.is_some());
    for (node, members) in &out.members {
        let listed = members.iter().find(|m| m.node == restarted);
        assert!(
            listed.is_some_and(|m| m.state == MemberState::Alive),
            "{node} does not list the restarted {restarted} alive: {listed:?}"
        );
    }
}
