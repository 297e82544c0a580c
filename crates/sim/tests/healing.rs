//! Partition healing, on the scenario files of `crates/sim/scenarios/`:
//! each parses and runs with both detectors, and after every heal of a cut
//! of up to 60 s the cluster is one full membership again within 10 s (the
//! project's target), through rejoins the cores make by themselves, with no
//! false positive but the partition's own.

use std::path::PathBuf;

use rumor_membership::MemberState;
use rumor_sim::{RunOptions, RunOutcome, Scenario, registry, run};

const DETECTORS: [&str; 2] = ["gossip", "swim"];
const SEEDS: [u64; 2] = [1, 2];
/// The target: one full membership within this long after a heal.
const HEALED_WITHIN_S: f64 = 10.0;

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn scenario(name: &str, detector: &str) -> Scenario {
    let mut s = Scenario::from_file(&scenario_dir().join(name)).expect("the file parses");
    s.detector = Some(detector.to_owned());
    s
}

fn simulate(s: &Scenario, seed: u64) -> RunOutcome {
    let options = RunOptions::default().with_members(true);
    run(s, seed, &registry(), options).expect("the scenario is valid")
}

/// Every live node lists exactly the live nodes, alive, at the end.
fn assert_one_membership(what: &str, outcome: &RunOutcome) {
    let everyone: Vec<_> = outcome.members.iter().map(|(id, _)| *id).collect();
    for (observer, members) in &outcome.members {
        let live: Vec<_> = members
            .iter()
            .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
            .map(|m| m.node)
            .collect();
        assert_eq!(live, everyone, "{what}: {observer} holds another view");
    }
}

/// Every heal of the run reached full membership within the target, and
/// no live member was marked failed but across the cut.
fn assert_heals(file: &str, heals: usize) {
    for detector in DETECTORS {
        for seed in SEEDS {
            let what = format!("{file}, {detector}, seed {seed}");
            let outcome = simulate(&scenario(file, detector), seed);
            let r = &outcome.report;
            assert_eq!(r.heals.len(), heals, "{what}: {r:?}");
            for h in &r.heals {
                let healed = h
                    .healed_s
                    .unwrap_or_else(|| panic!("{what}: not healed: {h:?}"));
                assert!(healed <= HEALED_WITHIN_S, "{what}: {h:?}");
            }
            assert!(
                r.partition_false_positives > 0,
                "{what}: the cut went unseen"
            );
            assert_eq!(r.false_positives, 0, "{what}: {r:?}");
            assert_eq!(r.crashes.len(), 0, "{what}: a process was stopped");
            assert_one_membership(&what, &outcome);
        }
    }
}

#[test]
fn every_scenario_file_parses_and_runs() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("crates/sim/scenarios exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let s = Scenario::from_file(&path).expect("the file parses");
        s.validate().expect("the scenario is valid");
        let r = run(&s, 1, &registry(), RunOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .report;
        assert!(!r.heals.is_empty(), "{}: no heal", path.display());
    }
}

#[test]
fn a_two_way_partition_heals_within_ten_seconds() {
    assert_heals("partition-two-way.toml", 1);
}

#[test]
fn a_sixty_second_partition_heals_within_ten_seconds() {
    assert_heals("partition-two-way-60s.toml", 1);
}

#[test]
fn a_one_way_partition_heals_within_ten_seconds() {
    assert_heals("partition-one-way.toml", 1);
}

#[test]
fn an_isolated_node_comes_back_within_ten_seconds() {
    assert_heals("isolate-one.toml", 2);
}

#[test]
fn a_flapping_link_ends_in_one_full_membership() {
    for detector in DETECTORS {
        for seed in SEEDS {
            let what = format!("flapping-link.toml, {detector}, seed {seed}");
            let outcome = simulate(&scenario("flapping-link.toml", detector), seed);
            let r = &outcome.report;
            assert_eq!(r.heals.len(), 3, "{what}: {r:?}");
            let last = r.heals.last().expect("three heals");
            assert!(
                last.healed_s.is_some_and(|t| t <= HEALED_WITHIN_S),
                "{what}: {last:?}"
            );
            assert_eq!(r.false_positives, 0, "{what}: {r:?}");
            assert_one_membership(&what, &outcome);
        }
    }
}
