//! The same scenario and seed give byte-identical output; another seed does not.

use std::process::Command;
use std::time::Duration;

use rumor_sim::{Report, RunOptions, Scenario, registry, run};

fn json(scenario: &Scenario, seeds: std::ops::Range<u64>) -> String {
    let runs = seeds
        .map(|seed| {
            run(scenario, seed, &registry(), RunOptions::default())
                .expect("valid scenario")
                .report
        })
        .collect();
    Report::new(scenario, runs).to_json()
}

#[test]
fn library_runs_replay_byte_for_byte() {
    let mut s = Scenario::default();
    s.nodes = 12;
    s.detector = Some("swim".into());
    s.fail = 2;
    s.leave = 1;
    s.loss = 0.1;
    s.warmup = Duration::from_secs(4);
    s.duration = Duration::from_secs(12);
    let a = json(&s, 5..7);
    let b = json(&s, 5..7);
    assert_eq!(a, b);
    assert!(
        !a.contains("wall_time"),
        "wall time leaked into a deterministic report"
    );
    assert_ne!(a, json(&s, 6..8), "the seed changes nothing");
}

#[test]
fn healing_runs_replay_byte_for_byte() {
    // Rejoins, stream timeouts and heal checks are on the agenda too.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/partition-one-way.toml"
    );
    let mut s = Scenario::from_file(std::path::Path::new(file)).unwrap();
    s.detector = Some("swim".into());
    s.loss = 0.05;
    let a = json(&s, 3..5);
    assert!(a.contains("\"healed_s\""), "{a}");
    assert_eq!(a, json(&s, 3..5));
}

fn rumor_sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rumor-sim"))
        .args(args)
        .output()
        .expect("the rumor-sim binary runs")
}

#[test]
fn binary_output_is_byte_identical_per_seed() {
    for format in ["--json", "--csv", "--table"] {
        let mut args = vec![
            "--nodes",
            "10",
            "--detector",
            "gossip",
            "--fail",
            "1",
            "--loss",
            "0.1",
            "--duration",
            "15s",
            "--warmup",
            "5s",
            "--seed",
            "3",
            "--seeds",
            "2",
            "--no-wall-time",
        ];
        if format != "--table" {
            args.push(format);
        }
        let a = rumor_sim(&args);
        let b = rumor_sim(&args);
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        assert!(!a.stdout.is_empty());
        assert_eq!(
            a.stdout, b.stdout,
            "{format} output differs between two runs"
        );
    }
}
