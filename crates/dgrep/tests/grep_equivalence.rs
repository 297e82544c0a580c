//! dgrep over four stand-in agents prints, node by node, exactly what GNU
//! grep prints over the same files, and exits as grep would.

mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rumor_dgrep::ServeConfig;
use rumor_wire::NodeId;
use support::{Behaviour, by_node, data_dir, gnu_grep, run_dgrep, start_cluster, write_logs};
use tempfile::TempDir;

const FILES: [&str; 2] = ["agent.log", "events.jsonl"];

struct Cluster {
    nodes: Vec<(NodeId, TempDir)>,
}

/// Four nodes with 20,000 log lines each; node 2 alone holds the needle.
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dirs: Vec<TempDir> = (0..4).map(|_| data_dir()).collect();
        for (i, dir) in dirs.iter().enumerate() {
            write_logs(dir.path(), 11 + i as u64, 20_000, i == 2);
        }
        let configs = dirs
            .iter()
            .map(|d| {
                (
                    ServeConfig::new(vec![], d.path().to_path_buf()),
                    Behaviour::Answer,
                )
            })
            .collect();
        let ids = start_cluster(configs);
        Cluster {
            nodes: ids.into_iter().zip(dirs).collect(),
        }
    })
}

/// Runs dgrep and grep with `args`; checks output per node and exit status.
/// Returns the number of lines dgrep printed.
fn same_as_grep(args: &[&str]) -> usize {
    let cluster = cluster();
    let out = run_dgrep(cluster.nodes[0].0.addr, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got = by_node(&out.stdout);
    let mut want = BTreeMap::new();
    let mut any_selected = false;
    for (node, dir) in &cluster.nodes {
        let (lines, status) = gnu_grep(node, dir.path(), &FILES, args);
        assert!(status == 0 || status == 1, "grep {args:?} failed: {status}");
        any_selected |= status == 0;
        if !lines.is_empty() {
            want.insert(node.to_string(), lines);
        }
    }
    for node in want.keys().chain(got.keys()) {
        let (w, g) = (want.get(node), got.get(node));
        assert!(
            w == g,
            "dgrep {args:?} differs from grep on {node}: grep {} lines, dgrep {} lines\n\
             first grep: {:?}\nfirst dgrep: {:?}\nstderr: {stderr}",
            w.map_or(0, Vec::len),
            g.map_or(0, Vec::len),
            w.and_then(|v| v.first()),
            g.and_then(|v| v.first()),
        );
    }
    let want_status = if any_selected { 0 } else { 1 };
    assert_eq!(
        out.status.code(),
        Some(want_status),
        "dgrep {args:?}: {stderr}"
    );
    assert!(stderr.contains("4 of 4 members answered"), "{stderr}");
    got.values().map(Vec::len).sum()
}

#[test]
fn frequent_rare_and_in_between_fixed_strings() {
    let frequent = same_as_grep(&["-F", "INFO"]);
    let between = same_as_grep(&["-F", "ERROR"]);
    let rare = same_as_grep(&["-F", "panic: disk"]);
    assert!(
        frequent > 50_000 && between > 4_000 && between < frequent,
        "{frequent} {between}"
    );
    assert!(rare > 0 && rare < 200, "{rare}");
    same_as_grep(&["-F", "-e", "PANIC", "-e", "\"failed\""]);
}

#[test]
fn a_pattern_on_one_node_only() {
    let cluster = cluster();
    assert_eq!(same_as_grep(&["needle-only-here"]), 5);
    let out = run_dgrep(cluster.nodes[0].0.addr, &["needle-only-here"]);
    let nodes = by_node(&out.stdout);
    assert_eq!(
        nodes.keys().collect::<Vec<_>>(),
        [&cluster.nodes[2].0.to_string()]
    );
}

#[test]
fn regular_expressions_basic_and_extended() {
    same_as_grep(&["-E", "user=(alice|bob) .*ms=1[0-9]{3}$"]);
    same_as_grep(&[r"id=\(12\|34\)[0-9]*7 user=[[:alpha:]]*e\b"]);
    same_as_grep(&["^2026-11-23T10:00:0[1-3].* WARN"]);
    same_as_grep(&["-E", r#""event":"(failed|left)".*127\.0\.0\.[35]"#]);
    same_as_grep(&["-w", "-E", "ms=[0-9]{2}"]);
    same_as_grep(&["-x", "-E", ".*ms=1999"]);
}

#[test]
fn ignore_case_invert_and_max_count() {
    same_as_grep(&["-i", "error"]);
    same_as_grep(&["-i", "-F", "pAnIc"]);
    same_as_grep(&["-v", "INFO"]);
    same_as_grep(&["-v", "-i", "-e", "info", "-e", "warn"]);
    same_as_grep(&["-m", "7", "WARN"]);
}

#[test]
fn counts_per_node_and_file() {
    same_as_grep(&["-c", "WARN"]);
    same_as_grep(&["-c", "-v", "INFO"]);
    same_as_grep(&["-c", "-i", "error"]);
    same_as_grep(&["-c", "needle-only-here"]);
    same_as_grep(&["-c", "nothing matches this"]);
}

#[test]
fn line_numbers() {
    same_as_grep(&["-n", "PANIC"]);
    same_as_grep(&["-n", "-v", "-E", "INFO|WARN|ERROR"]);
}

#[test]
fn nothing_selected_exits_one() {
    assert_eq!(same_as_grep(&["no line has this"]), 0);
}

#[test]
fn a_reader_that_goes_away_ends_dgrep_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let cluster = cluster();
    // Megabytes of output: far more than a pipe holds, as `dgrep INFO | head -1`.
    let mut child = support::dgrep()
        .args(["INFO", "--agent", &cluster.nodes[0].0.addr.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains(" INFO "), "{first}");
    // The reader is dropped: dgrep's next writes fail with EPIPE.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.to_lowercase().contains("pipe"), "{stderr}");
}
