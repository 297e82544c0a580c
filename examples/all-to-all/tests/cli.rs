//! `rumor-sim-all-to-all`: the simulator's command line knows the plugin
//! beside the built-ins, and its report says the plugin ran.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rumor-sim-all-to-all"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn the_plugin_runs_from_the_simulators_command_line() {
    let out = run(&[
        "--nodes",
        "10",
        "--detector",
        "all-to-all",
        "--fail",
        "1",
        "--duration",
        "20s",
        "--seed",
        "4",
        "--csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("detector"), "all-to-all");
    assert_eq!(col("crashes_seen_by_all"), "1", "{csv}");
    assert_eq!(col("false_positives"), "0", "{csv}");
}

#[test]
fn the_built_ins_and_foca_are_still_there() {
    for detector in ["gossip", "swim", "phi", "foca"] {
        let out = run(&[
            "--nodes",
            "5",
            "--detector",
            detector,
            "--duration",
            "3s",
            "--warmup",
            "1s",
            "--csv",
        ]);
        assert!(
            out.status.success(),
            "{detector}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_unknown_detector_names_every_known_one() {
    let out = run(&["--nodes", "5", "--detector", "nope"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for known in ["all-to-all", "gossip", "swim", "phi", "foca"] {
        assert!(stderr.contains(known), "{known} missing in {stderr}");
    }
}
