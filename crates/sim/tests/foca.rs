//! foca beside rumor's detectors: the same clock, network, faults and
//! reports, configured from its presets or from rumor's swim timing.

use std::time::Duration;

use rumor_sim::{
    ActionKind, ActionSpec, Bootstrap, FocaPreset, FocaSettings, RunOptions, RunReport, Scenario,
    registry, run,
};

const S: fn(u64) -> Duration = Duration::from_secs;

fn foca(nodes: usize, settings: FocaSettings) -> Scenario {
    let mut scenario = Scenario::default();
    scenario.nodes = nodes;
    scenario.detector = Some("foca".into());
    scenario.fail = 1;
    scenario.warmup = S(8);
    scenario.duration = S(20);
    scenario.foca = settings;
    scenario
}

fn simulate(s: &Scenario, seed: u64) -> RunReport {
    run(s, seed, &registry(), RunOptions::default())
        .expect("valid scenario")
        .report
}

#[test]
fn foca_lan_detects_a_crash_in_its_own_time() {
    let r = simulate(&foca(10, FocaSettings::default()), 3);
    let crash = &r.crashes[0];
    // new_lan(10): probe every 1 s, suspicion 4 s: detection takes more
    // than the suspicion and less than a few probe periods beyond it.
    let first = crash.first_detection_s.expect("detected");
    assert!((4.0..8.0).contains(&first), "{crash:?}");
    let all = crash.all_member_s.expect("seen by all");
    assert!(all >= first && all < 9.0, "{crash:?}");
    assert_eq!(crash.observers_detected, 9);
    assert_eq!((r.false_positives, r.engine_errors), (0, 0), "{r:?}");
    assert!(r.suspicions_raised >= 1, "{r:?}");
    assert!(
        r.full_view_s.is_some(),
        "every node joined every node: {r:?}"
    );
    // A probe and its ack are a few dozen bytes; gossip adds a little.
    assert!(
        (20.0..400.0).contains(&r.bytes_per_node_s),
        "{}",
        r.bytes_per_node_s
    );
}

#[test]
fn matched_timing_makes_foca_as_quick_as_swim_is_configured() {
    let mut matched = FocaSettings::default();
    matched.match_timing = true;
    let r = simulate(&foca(10, matched), 3);
    let all = r.crashes[0].all_member_s.expect("seen by all");
    // Probe every 100 ms, suspicion 1.5 s (rumor's defaults).
    assert!((1.5..3.0).contains(&all), "{r:?}");
    assert_eq!(r.false_positives, 0);
    let lan = simulate(&foca(10, FocaSettings::default()), 3);
    assert!(
        r.bytes_per_node_s > 3.0 * lan.bytes_per_node_s,
        "probing ten times as often costs more: {} vs {}",
        r.bytes_per_node_s,
        lan.bytes_per_node_s
    );
}

#[test]
fn the_wan_preset_and_a_scaled_period_are_slower() {
    let mut wan = FocaSettings::default();
    wan.preset = FocaPreset::Wan;
    let mut s = foca(10, wan);
    s.duration = S(60);
    let r = simulate(&s, 3);
    let first = r.crashes[0].first_detection_s.expect("detected");
    assert!(first > 25.0, "wan suspicion is 30 s: {r:?}");
    let mut half = FocaSettings::default();
    half.probe_period = Some(Duration::from_millis(500));
    let r = simulate(&foca(10, half), 3);
    let first = r.crashes[0].first_detection_s.expect("detected");
    assert!((2.0..4.5).contains(&first), "suspicion 2 s: {r:?}");
}

#[test]
fn same_seed_same_foca_run() {
    let s = foca(20, FocaSettings::default());
    assert_eq!(simulate(&s, 9), simulate(&s, 9));
    assert_ne!(
        simulate(&s, 9).bytes_per_node_s,
        simulate(&s, 10).bytes_per_node_s
    );
}

#[test]
fn foca_starts_converged_and_survives_loss() {
    let mut s = foca(60, FocaSettings::default());
    s.bootstrap = Bootstrap::Converged;
    s.loss = 0.1;
    s.fail = 2;
    let r = simulate(&s, 5);
    assert_eq!(r.full_view_s, Some(0.0));
    assert_eq!(r.crashes.len(), 2);
    for c in &r.crashes {
        assert!(c.all_member_s.is_some(), "{c:?}");
    }
    assert!(r.drops.receiver > 0);
    assert_eq!(r.engine_errors, 0);
}

#[test]
fn a_partitioned_foca_declares_the_other_side_down_and_heals_by_rejoining() {
    let mut cut = ActionSpec::new(S(6), ActionKind::Partition, vec![0, 1, 2]);
    cut.lasting = Some(S(10));
    let mut s = foca(6, FocaSettings::default());
    s.fail = 0;
    // foca announces to members it holds down every 65 s (new_lan): that
    // is what brings the halves back together.
    s.duration = S(90);
    s.actions = vec![cut];
    let r = simulate(&s, 2);
    assert!(r.partition_false_positives >= 3, "{r:?}");
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert_eq!(r.heals.len(), 1);
    let healed = r.heals[0].healed_s.expect("healed");
    assert!(healed < 70.0, "{:?}", r.heals[0]);
    assert!(r.rejoins > 0, "declared down, foca renews its identity");
}

#[test]
fn refuted_suspicions_still_turn_foca_members_undead_unless_told_not_to() {
    // At 10 % loss some probes fail although the member is alive; it
    // refutes. foca 1.0 still sends it TurnUndead when the suspicion's
    // timer fires (notify_down_members), and it renews its identity.
    let mut s = foca(100, FocaSettings::default());
    s.bootstrap = Bootstrap::Converged;
    s.loss = 0.1;
    s.fail = 0;
    s.duration = S(25);
    let noisy = simulate(&s, 1);
    assert!(noisy.suspicions_raised > 0, "{noisy:?}");
    assert!(noisy.rejoins > 0, "{noisy:?}");
    s.foca.notify_down_members = Some(false);
    let quiet = simulate(&s, 1);
    assert!(quiet.suspicions_raised > 0, "{quiet:?}");
    assert_eq!(quiet.rejoins, 0, "{quiet:?}");
    assert!(quiet.bytes_per_node_s < noisy.bytes_per_node_s);
}

#[test]
fn foca_runs_every_scenario_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let mut s = Scenario::from_file(&file).unwrap();
        let heals = simulate(&s, 1).heals.len();
        s.detector = Some("foca".into());
        let r = simulate(&s, 1);
        let name = file.file_name().unwrap().to_string_lossy();
        assert_eq!(r.engine_errors, 0, "{name}");
        assert_eq!(r.heals.len(), heals, "{name}: the same cuts and heals");
        assert_eq!(r.false_positives, 0, "{name}: {r:?}");
        assert!(r.partition_false_positives > 0, "{name}: the cut is seen");
    }
}
