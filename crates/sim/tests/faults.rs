//! The network model and the fault timetable act on the cluster: partitions
//! cut and heal, restarts come back under a new version, loss changes apply,
//! and a node declared failed rejoins by itself, its process running on.

use std::time::Duration;

use rumor_membership::MemberState;
use rumor_sim::{ActionKind, ActionSpec, RunOptions, RunOutcome, Scenario, registry, run};

const S: fn(u64) -> Duration = Duration::from_secs;

fn base(actions: Vec<ActionSpec>) -> Scenario {
    let mut scenario = Scenario::default();
    scenario.nodes = 10;
    scenario.detector = Some("gossip".into());
    scenario.warmup = S(5);
    scenario.duration = S(15);
    scenario.actions = actions;
    scenario
}

fn simulate(s: &Scenario) -> RunOutcome {
    let options = RunOptions::default().with_members(true);
    run(s, 11, &registry(), options).expect("valid scenario")
}

#[test]
fn a_long_partition_is_seen_as_failures_on_both_sides() {
    let cut = ActionSpec::new(S(5), ActionKind::Partition, vec![1, 2]);
    let r = simulate(&base(vec![cut])).report;
    assert!(r.drops.partitioned > 0);
    // Nodes 1 and 2 are live, so their detection by the rest is a false
    // positive, the partition's doing, and the rest are failed for them.
    assert!(r.partition_false_positives >= 3, "{r:?}");
    assert_eq!(r.false_positives, 0, "counted as genuine: {r:?}");
    assert!(r.heals.is_empty(), "no heal came");
}

#[test]
fn a_healed_partition_ends_in_one_membership_through_rejoins() {
    let mut cut = ActionSpec::new(S(5), ActionKind::Partition, vec![1, 2]);
    cut.lasting = Some(S(4));
    let outcome = simulate(&base(vec![cut]));
    let r = &outcome.report;
    assert_eq!(r.heals.len(), 1, "{r:?}");
    let heal = &r.heals[0];
    assert_eq!((heal.at_s, heal.cut_s), (9.0, 4.0));
    assert!(heal.healed_s.is_some_and(|t| t < 5.0), "{heal:?}");
    // The smaller side (or the losing tie) takes new versions, in the
    // same processes: ten run at the end, none restarted.
    assert!(heal.rejoins >= 2, "{heal:?}");
    assert_eq!(r.rejoins, r.notices.rejoining);
    assert_eq!(outcome.members.len(), 10);
    assert!(r.crashes.is_empty());
    for (observer, members) in &outcome.members {
        let live: Vec<_> = members
            .iter()
            .filter(|m| m.state == MemberState::Alive)
            .map(|m| m.node)
            .collect();
        let everyone: Vec<_> = outcome.members.iter().map(|(id, _)| *id).collect();
        assert_eq!(live, everyone, "{observer} lists another membership");
    }
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert!(r.partition_false_positive_marks > 0);
}

#[test]
fn a_short_partition_heals_before_anyone_is_failed() {
    let cut = ActionSpec::new(S(5), ActionKind::Partition, vec![1, 2]);
    let heal = ActionSpec::new(S(5) + Duration::from_millis(200), ActionKind::Heal, vec![]);
    let r = simulate(&base(vec![cut, heal])).report;
    assert!(r.drops.partitioned > 0);
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert_eq!(r.partition_false_positives, 0, "{r:?}");
    assert_eq!(r.heals[0].healed_s, Some(0.0), "{r:?}");
    assert_eq!(r.rejoins, 0);
}

#[test]
fn a_one_way_partition_blocks_one_direction_only() {
    let mut cut = ActionSpec::new(S(5), ActionKind::Partition, vec![3]);
    cut.one_way = true;
    let r = simulate(&base(vec![cut])).report;
    assert!(r.drops.partitioned > 0);
    // Node 3 still hears everyone but nobody hears it: it is the one failed.
    assert!(r.partition_false_positives >= 1, "{r:?}");
    assert_eq!(r.false_positives, 0, "{r:?}");
}

#[test]
fn a_restarted_node_comes_back_under_a_new_version() {
    let crash = ActionSpec::new(S(5), ActionKind::Crash, vec![4]);
    let restart = ActionSpec::new(S(12), ActionKind::Restart, vec![]);
    let mut s = base(vec![crash, restart]);
    s.duration = S(20);
    let outcome = simulate(&s);
    let r = &outcome.report;
    assert_eq!(r.crashes.len(), 1);
    assert!(r.crashes[0].all_member_s.is_some(), "{r:?}");
    assert_eq!(r.false_positives, 0);
    assert_eq!(outcome.members.len(), 10, "the restarted node runs");
    let new = outcome
        .members
        .iter()
        .map(|(id, _)| *id)
        .find(|id| id.addr == rumor_sim::slot_addr(4))
        .expect("slot 4 runs again");
    assert_ne!(
        new.to_string(),
        r.crashes[0].node,
        "same version after restart"
    );
    for (observer, members) in &outcome.members {
        let entry = members.iter().find(|m| m.node == new);
        assert!(
            entry.is_some_and(|m| m.state == MemberState::Alive),
            "{observer} does not list the restarted {new} as alive: {entry:?}"
        );
    }
}

#[test]
fn total_receiver_loss_starves_everyone_and_can_be_lifted() {
    let mut lose = ActionSpec::new(S(5), ActionKind::SetLoss, vec![]);
    lose.loss = Some(1.0);
    let r = simulate(&base(vec![lose.clone()])).report;
    assert!(r.drops.receiver > 0);
    assert!(r.false_positives > 0, "nothing noticed total loss");
    let mut back = ActionSpec::new(
        S(5) + Duration::from_millis(100),
        ActionKind::SetLoss,
        vec![],
    );
    back.loss = Some(0.0);
    let r = simulate(&base(vec![lose, back])).report;
    assert!(r.drops.receiver > 0);
    assert_eq!(r.false_positives, 0, "{r:?}");
}

#[test]
fn network_loss_drops_in_transit() {
    let mut s = base(vec![]);
    s.network.loss = 0.05;
    let r = simulate(&s).report;
    assert!(r.drops.in_transit > 0);
}

#[test]
fn a_restarted_introducer_rejoins_through_another_node() {
    let crash = ActionSpec::new(S(5), ActionKind::Crash, vec![0]);
    let restart = ActionSpec::new(S(10), ActionKind::Restart, vec![0]);
    let mut s = base(vec![crash, restart]);
    s.duration = S(16);
    let outcome = simulate(&s);
    assert_eq!(outcome.report.false_positives, 0);
    assert!(outcome.report.crashes[0].all_member_s.is_some());
    let new = outcome
        .members
        .iter()
        .map(|(id, _)| *id)
        .find(|id| id.addr == rumor_sim::slot_addr(0))
        .expect("node 0 runs again");
    for (observer, members) in &outcome.members {
        assert!(
            members
                .iter()
                .any(|m| m.node == new && m.state == MemberState::Alive),
            "{observer} does not list the restarted introducer {new}"
        );
    }
}
