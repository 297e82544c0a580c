//! The command line: the documented flags work, bad flags give one line and a
//! non-zero exit, scenario files are read.

use std::io::Write;
use std::process::Command;

fn rumor_sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rumor-sim"))
        .args(args)
        .output()
        .expect("the rumor-sim binary runs")
}

fn assert_one_line_error(args: &[&str], needle: &str) {
    let out = rumor_sim(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn design_flags_print_the_report() {
    let out = rumor_sim(&[
        "--nodes",
        "10",
        "--detector",
        "gossip",
        "--loss",
        "0",
        "--fail",
        "1",
        "--duration",
        "20s",
        "--seed",
        "4",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "first detection (s)",
        "all-member detection (s)",
        "bytes sent / node / s",
        "false positives: 0",
        "wall time",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

#[test]
fn bad_flags_give_one_line() {
    assert_one_line_error(
        &["--nodes", "10", "--detector", "gossip", "--bogus"],
        "--bogus",
    );
    assert_one_line_error(&["--nodes", "ten", "--detector", "gossip"], "ten");
    assert_one_line_error(
        &["--nodes", "10", "--detector", "gossip", "--loss", "1.5"],
        "probability",
    );
    assert_one_line_error(
        &[
            "--nodes",
            "10",
            "--detector",
            "gossip",
            "--duration",
            "soon",
        ],
        "soon",
    );
    assert_one_line_error(&["--detector", "gossip"], "--nodes");
    assert_one_line_error(
        &["--nodes", "10", "--detector", "nosuch"],
        "unknown detector",
    );
    assert_one_line_error(
        &["--nodes", "3", "--detector", "gossip", "--fail", "3"],
        "fail",
    );
    assert_one_line_error(&["--scenario", "/nonexistent/scenario.toml"], "cannot read");
}

#[test]
fn help_succeeds() {
    let out = rumor_sim(&["--help"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--detector")
    );
}

#[test]
fn scenario_file_with_flags_on_top() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"
nodes = 8
detector = "gossip"
duration = "20s"
[network]
latency = "1ms"
[[actions]]
at = "6s"
action = "crash"
nodes = [3]
[[actions]]
at = "12s"
action = "restart"
"#
    )
    .unwrap();
    let path = file.path().to_str().unwrap();
    let out = rumor_sim(&[
        "--scenario",
        path,
        "--seed",
        "2",
        "--json",
        "--no-wall-time",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scenario"]["nodes"], 8);
    assert_eq!(report["runs"][0]["seed"], 2);
    let crashes = report["runs"][0]["crashes"].as_array().unwrap();
    assert_eq!(crashes.len(), 1);
    assert_eq!(crashes[0]["slot"], 3);
    // The flag overrides the file.
    let out = rumor_sim(&[
        "--scenario",
        path,
        "--nodes",
        "6",
        "--json",
        "--no-wall-time",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scenario"]["nodes"], 6);

    let mut bad = tempfile::NamedTempFile::new().unwrap();
    write!(
        bad,
        "nodes = 8\n[[actions]]\nat = \"1s\"\naction = \"explode\"\n"
    )
    .unwrap();
    assert_one_line_error(&["--scenario", bad.path().to_str().unwrap()], "bad TOML");
}

#[test]
fn events_file_uses_the_event_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let out = rumor_sim(&[
        "--nodes",
        "4",
        "--detector",
        "gossip",
        "--fail",
        "1",
        "--duration",
        "15s",
        "--events",
        path.to_str().unwrap(),
        "--csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut kinds = std::collections::HashSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "ts_ms",
            "observer",
            "event",
            "member",
            "incarnation",
            "detector",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        kinds.insert(v["event"].as_str().unwrap().to_owned());
    }
    assert!(
        kinds.contains("joined") && kinds.contains("failed"),
        "{kinds:?}"
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.starts_with("seed,nodes,detector"));
}

#[test]
fn heal_figures_in_the_table_and_the_csv() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/isolate-one.toml");
    let args = ["--scenario", file, "--detector", "swim", "--no-wall-time"];
    let out = rumor_sim(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "heal to full membership (s)",
        "heals: 2 (0 not healed)",
        "partition-caused false positives:",
        "heal at 30.000s of a 15.000s cut: full membership after",
        "notices:",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
    let out = rumor_sim(&[&args[..], &["--csv"]].concat());
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), row.len(), "{csv}");
    let field = |name: &str| {
        let at = header.iter().position(|h| *h == name);
        row[at.unwrap_or_else(|| panic!("no {name} column in {csv}"))]
    };
    assert_eq!((field("heals"), field("heals_healed")), ("2", "2"));
    let heal_max: f64 = field("heal_max_s").parse().unwrap();
    assert!(heal_max <= 10.0, "{csv}");
    assert_ne!(field("partition_false_positive_marks"), "0");
    assert_eq!(field("false_positives"), "0");
}

#[test]
fn foca_and_pauses_from_flags() {
    let out = rumor_sim(&[
        "--nodes",
        "10",
        "--detector",
        "foca",
        "--match-timing",
        "--fail",
        "1",
        "--pause",
        "1:300ms:2s",
        "--duration",
        "20s",
        "--csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("detector"), "foca");
    assert_eq!(col("crashes_seen_by_all"), "1");
    assert!(col("pauses").parse::<u64>().unwrap() >= 5, "{csv}");
    assert_one_line_error(
        &["--nodes", "10", "--detector", "foca", "--pause", "1%:5s:5s"],
        "EVERY must be longer than DUR",
    );
    assert_one_line_error(
        &[
            "--nodes",
            "10",
            "--detector",
            "foca",
            "--foca-preset",
            "moon",
        ],
        "moon",
    );
    assert_one_line_error(
        &["--nodes", "10", "--detector", "foca", "--foca-period", "0s"],
        "foca.probe_period must be positive",
    );
    assert_one_line_error(&["--nodes", "10", "--detector", "focal"], "foca");
}
