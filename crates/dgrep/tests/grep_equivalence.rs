//! dgrep over four stand-in agents prints, node by node, exactly what GNU
//! grep prints over the same files, and exits as grep would, for every grep
//! flag dgrep takes (output modes, context, `-o`, colours, pattern files);
//! an invalid pattern is refused before anyone is asked; `--members`
//! chooses whom to ask; `--sort time` merges the members' events by time.

mod support;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::OnceLock;

use rumor_dgrep::ServeConfig;
use rumor_dgrep::time_order::timestamp;
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
        let first_difference = w
            .into_iter()
            .flatten()
            .zip(g.into_iter().flatten())
            .find(|(w, g)| w != g);
        assert!(
            w == g,
            "dgrep {args:?} differs from grep on {node}: grep {} lines, dgrep {} lines\n\
             first difference (grep, dgrep): {first_difference:?}\nstderr: {stderr}",
            w.map_or(0, Vec::len),
            g.map_or(0, Vec::len),
        );
    }
    let want_status = if any_selected { 0 } else { 1 };
    assert_eq!(
        out.status.code(),
        Some(want_status),
        "dgrep {args:?}: {stderr}"
    );
    if args
        .iter()
        .any(|a| ["-q", "--quiet", "--silent"].contains(a))
    {
        assert!(stderr.is_empty(), "dgrep {args:?} said: {stderr}");
    } else {
        assert!(stderr.contains("4 of 4 members answered"), "{stderr}");
    }
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
fn file_names_hidden_and_shown() {
    let hidden = same_as_grep(&["-h", "PANIC"]);
    assert!(hidden > 0);
    same_as_grep(&["-h", "-n", "-F", "panic: disk"]);
    same_as_grep(&["-h", "-c", "WARN"]);
    same_as_grep(&["-H", "-n", "PANIC"]);
    // The last of -h and -H wins, as in grep.
    same_as_grep(&["-h", "-H", "PANIC"]);
    same_as_grep(&["-H", "-h", "-n", "PANIC"]);
    // -l names files whatever -h says.
    same_as_grep(&["-h", "-l", "PANIC"]);
}

#[test]
fn files_with_and_without_matches() {
    same_as_grep(&["-l", "needle-only-here"]);
    same_as_grep(&["-l", "PANIC"]);
    same_as_grep(&["-l", "-v", "INFO"]);
    same_as_grep(&["-l", "-c", "ERROR"]);
    same_as_grep(&["-L", "needle-only-here"]);
    same_as_grep(&["-L", "-F", "\"failed\""]);
    same_as_grep(&["-L", "nothing matches this"]);
    // The last of -l and -L wins.
    same_as_grep(&["-l", "-L", "needle-only-here"]);
    same_as_grep(&["-L", "-l", "needle-only-here"]);
}

#[test]
fn only_matching() {
    same_as_grep(&["-o", "-E", "user=[a-z]+ ms=1[0-9]{3}$"]);
    same_as_grep(&["-o", "-n", "-i", "error"]);
    same_as_grep(&["-o", "-w", "-E", "ms=[0-9]{2}"]);
    same_as_grep(&["-o", "-h", "-E", "\"event\":\"[a-z]+\""]);
    same_as_grep(&["-o", "-x", "-E", ".*ms=1999"]);
    same_as_grep(&["-o", "-c", "PANIC"]);
    // -o -v selects lines but prints nothing (and exits 0), as grep does.
    assert_eq!(same_as_grep(&["-o", "-v", "INFO"]), 0);
}

#[test]
fn quiet_prints_nothing_and_tells_by_its_status() {
    assert_eq!(same_as_grep(&["-q", "PANIC"]), 0);
    assert_eq!(same_as_grep(&["-q", "needle-only-here"]), 0);
    assert_eq!(same_as_grep(&["-q", "no line has this"]), 0);
    assert_eq!(same_as_grep(&["--silent", "-v", "-c", "INFO"]), 0);
    let agent = cluster().nodes[0].0.addr;
    for (pattern, status) in [("PANIC", 0), ("no line has this", 1)] {
        let out = run_dgrep(agent, &["-q", pattern]);
        assert_eq!(out.status.code(), Some(status), "-q {pattern}");
        assert!(out.stdout.is_empty() && out.stderr.is_empty());
    }
}

#[test]
fn context_lines_and_group_separators() {
    let printed = same_as_grep(&["-A", "2", "-n", "PANIC"]);
    assert!(printed > same_as_grep(&["-n", "PANIC"]));
    same_as_grep(&["-B", "3", "needle-only-here"]);
    same_as_grep(&["-C", "1", "-n", "-F", "\"failed\""]);
    same_as_grep(&["-C", "2", "-h", "PANIC"]);
    // -A and -B override -C for their side.
    same_as_grep(&["-C", "3", "-A", "0", "-n", "PANIC"]);
    // Zero lines of context still separates groups, as in grep.
    same_as_grep(&["-A", "0", "-n", "PANIC"]);
    // Overlapping groups merge; -v's context lines are the matching ones.
    same_as_grep(&["-C", "4", "-n", "-E", "ERROR|Error"]);
    same_as_grep(&["-v", "-n", "-A", "1", "-E", "INFO|WARN|ERROR"]);
    // After -m's last line, the lines within -A are context, matching or not.
    same_as_grep(&["-m", "2", "-A", "3", "-n", "WARN"]);
    same_as_grep(&["-v", "-m", "1", "-A", "2", "INFO"]);
    // -o prints no context lines, but the groups' separators.
    same_as_grep(&["-o", "-C", "1", "-n", "-E", "panic: [a-z]+"]);
    // -c and -l ignore context.
    same_as_grep(&["-c", "-A", "2", "PANIC"]);
    same_as_grep(&["-l", "-C", "2", "PANIC"]);
}

#[test]
fn colours_are_greps() {
    let cluster = cluster();
    same_as_grep(&["--color=always", "ERROR"]);
    same_as_grep(&["--color=always", "-n", "-i", "error"]);
    same_as_grep(&["--color=always", "-h", "-E", "user=(alice|bob)"]);
    same_as_grep(&["--color=always", "-o", "-n", "-E", "ms=1[0-9]{3}"]);
    same_as_grep(&["--color=always", "-A", "1", "-n", "PANIC"]);
    // With -v, the selected lines do not match (uncoloured); the context
    // lines do (coloured as context matches).
    same_as_grep(&[
        "--color=always",
        "-v",
        "-n",
        "-B",
        "1",
        "-E",
        "INFO|WARN|ERROR",
    ]);
    same_as_grep(&["--color=always", "-c", "WARN"]);
    same_as_grep(&["--color=always", "-l", "PANIC"]);
    same_as_grep(&["--color=always", "-L", "needle-only-here"]);
    // The sequences themselves: grep's defaults.
    let out = run_dgrep(
        cluster.nodes[0].0.addr,
        &["--color=always", "-n", "-A", "1", "PANIC"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for sgr in [
        "\x1b[35m\x1b[Kagent.log\x1b[m\x1b[K",
        "\x1b[36m\x1b[K:\x1b[m\x1b[K",
        "\x1b[36m\x1b[K-\x1b[m\x1b[K",
        "\x1b[32m\x1b[K",
        "\x1b[01;31m\x1b[KPANIC\x1b[m\x1b[K",
        " \x1b[36m\x1b[K--\x1b[m\x1b[K\n",
    ] {
        assert!(text.contains(sgr), "{sgr:?} missing");
    }
    // auto and never print plain text into a pipe; so does no --color.
    let plain = run_dgrep(cluster.nodes[0].0.addr, &["-n", "PANIC"]).stdout;
    assert!(!plain.contains(&0x1b));
    for when in ["--color=auto", "--color", "--color=never", "--colour=never"] {
        let out = run_dgrep(cluster.nodes[0].0.addr, &[when, "-n", "PANIC"]);
        assert_eq!(by_node(&out.stdout), by_node(&plain), "{when}");
    }
}

#[test]
fn colour_auto_on_a_terminal_unless_no_color() {
    // script(1) gives dgrep a terminal for stdout.
    let script = std::path::Path::new("/usr/bin/script");
    if !script.is_file() {
        eprintln!("SKIPPED: no /usr/bin/script to give dgrep a terminal");
        return;
    }
    let agent = cluster().nodes[0].0.addr;
    let command = format!(
        "'{}' --color=auto -n PANIC --agent {agent}",
        env!("CARGO_BIN_EXE_dgrep")
    );
    let on_a_terminal = |no_color: Option<&str>| {
        let mut run = std::process::Command::new(script);
        run.args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("TERM", "xterm")
            .env("LC_ALL", "C")
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            run.env("NO_COLOR", value);
        }
        let out = run.output().expect("script runs");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(None);
    assert!(
        coloured.contains("\x1b[01;31m\x1b[KPANIC\x1b[m\x1b[K"),
        "{coloured:?}"
    );
    assert!(on_a_terminal(Some("")).contains("\x1b[01;31m"));
    let plain = on_a_terminal(Some("1"));
    assert!(
        plain.contains(" PANIC ") && !plain.contains("\x1b[01;31m"),
        "{plain:?}"
    );
}

#[test]
fn patterns_from_a_file() {
    let dir = data_dir();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let several = file("several", "PANIC\nuser=dave ms=1[0-9]$\n\"left\"\n");
    same_as_grep(&["-f", &several]);
    same_as_grep(&["-n", "-f", &several, "-e", "needle-only-here"]);
    same_as_grep(&["-c", "-E", "-f", &file("ere", "ms=(12|34)5$\nid=9{2}")]);
    // No patterns select nothing; inverted, everything.
    let empty = file("empty", "");
    assert_eq!(same_as_grep(&["-f", &empty]), 0);
    same_as_grep(&["-c", "-v", "-f", &empty]);
    // One empty pattern selects every line.
    same_as_grep(&["-c", "-f", &file("blank", "\n")]);
}

#[test]
fn no_messages_changes_no_output() {
    same_as_grep(&["-s", "-n", "PANIC"]);
    same_as_grep(&["-s", "-c", "nothing matches this"]);
}

#[test]
fn an_invalid_pattern_is_one_line_and_nobody_is_asked() {
    // The agent to ask is a listener of the test's own: it must never see a
    // connection, so no member list is asked for and no member is searched.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let agent = listener.local_addr().unwrap();
    for args in [
        &["-E", "a(b"][..],
        &[r"a\{1"],
        &["-e", "fine", "-e", "[[:nope:]]"],
        &["-E", "(x{1000}){1000}"],
        &["-w", "-E", "ok|("],
    ] {
        let out = run_dgrep(agent, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("dgrep: "), "{stderr}");
        assert!(out.stdout.is_empty());
        match listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("{args:?}: dgrep connected to the agent: {other:?}"),
        }
    }
    let out = run_dgrep(agent, &["-E", "a(b"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "dgrep: bad pattern: \"a(b\": unclosed group\n"
    );
}

#[test]
fn members_chooses_whom_to_ask() {
    let cluster = cluster();
    let agent = cluster.nodes[0].0.addr;
    let (two, three) = (&cluster.nodes[2].0, &cluster.nodes[3].0);
    let by_id = run_dgrep(agent, &["--members", &two.to_string(), "-n", "ERROR"]);
    let stderr = String::from_utf8_lossy(&by_id.stderr);
    assert_eq!(by_id.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 of 1 members answered"), "{stderr}");
    let (want, _) = gnu_grep(two, cluster.nodes[2].1.path(), &FILES, &["-n", "ERROR"]);
    let got = by_node(&by_id.stdout);
    assert_eq!(got.len(), 1);
    assert_eq!(got[&two.to_string()], want);
    // By address, several names in two forms; the rest are not asked.
    let out = run_dgrep(
        agent,
        &[
            "-c",
            "PANIC",
            "--members",
            &two.addr.to_string(),
            "--members",
            &format!("{three},{three}"),
        ],
    );
    let got = by_node(&out.stdout);
    let mut want = [two.to_string(), three.to_string()];
    want.sort();
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), want);
    // By host: every member on 127.0.0.1.
    let out = run_dgrep(agent, &["-c", "PANIC", "--members", "127.0.0.1"]);
    assert_eq!(by_node(&out.stdout).len(), 4);
    // A name no live member has: named on stderr (not with -s), exit 3, the
    // others answer.
    let stale = format!("{}#1", two.addr);
    for (quiet, said) in [(false, true), (true, false)] {
        let mut args = vec!["-c", "PANIC", "--members", &stale, "--members"];
        let three = three.to_string();
        args.push(&three);
        if quiet {
            args.push("-s");
        }
        let out = run_dgrep(agent, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert_eq!(
            stderr.contains(&format!("--members {stale}: no live member matches")),
            said,
            "{stderr}"
        );
        assert_eq!(by_node(&out.stdout).len(), 1);
    }
    // By tag: node 2 is the only `role=db`; with an address beside it.
    let out = run_dgrep(agent, &["-c", "PANIC", "--members", "role=db"]);
    let got = by_node(&out.stdout);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), [two.to_string()]);
    let out = run_dgrep(agent, &["-c", "PANIC", "--members", "n=3,role=db"]);
    let mut want = [two.to_string(), three.to_string()];
    want.sort();
    assert_eq!(
        by_node(&out.stdout).keys().cloned().collect::<Vec<_>>(),
        want
    );
    // A tag no member has is named like a stale address; the rest answer.
    let out = run_dgrep(
        agent,
        &["-c", "PANIC", "--members", "role=cache", "--members", "n=3"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--members role=cache: no live member matches"),
        "{stderr}"
    );
    assert_eq!(by_node(&out.stdout).len(), 1);
    // A tag without a name: one line, before anything is asked.
    let out = run_dgrep(agent, &["--members", "=db", "PANIC"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = run_dgrep(agent, &["--members", "db-1", "PANIC"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sort_time_merges_events_across_members() {
    let cluster = cluster();
    let agent = cluster.nodes[0].0.addr;
    let args = ["-e", "\"event\":\"failed\"", "-e", "PANIC"];
    let mut sorted_args = vec!["--sort", "time"];
    sorted_args.extend(args);
    let out = run_dgrep(agent, &sorted_args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // What it should be: every member's lines (as grep finds them), stamped
    // ones by time, a tie in member order; then the unstamped ones, member
    // by member.
    let mut members: Vec<&(NodeId, TempDir)> = cluster.nodes.iter().collect();
    members.sort_by_key(|(id, _)| *id);
    let mut stamped = Vec::new();
    let mut unstamped = Vec::new();
    for (rank, (id, dir)) in members.iter().enumerate() {
        let (lines, _) = gnu_grep(id, dir.path(), &FILES, &args);
        for (i, line) in lines.into_iter().enumerate() {
            match timestamp(line.as_bytes()) {
                Some(ts) => stamped.push(((ts, rank, i), line)),
                None => unstamped.push(line),
            }
        }
    }
    stamped.sort();
    let want: Vec<String> = stamped
        .into_iter()
        .map(|(_, l)| l)
        .chain(unstamped)
        .collect();
    assert!(want.len() > 100, "{}", want.len());
    assert_eq!(got.len(), want.len());
    let first = got.iter().zip(&want).position(|(g, w)| g != w);
    assert_eq!(first, None, "first difference at line {first:?}");
    // Lines from different members interleave: it is not arrival order.
    let members_seen: Vec<&str> = got
        .iter()
        .take(8)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert!(
        members_seen.windows(2).any(|w| w[0] != w[1]),
        "{members_seen:?}"
    );
    // Arrival order (the default) holds the same lines.
    let plain = run_dgrep(agent, &args);
    let arrival = String::from_utf8_lossy(&plain.stdout).into_owned();
    let mut arrival: Vec<&str> = arrival.lines().collect();
    let mut sorted: Vec<&str> = got.iter().map(String::as_str).collect();
    arrival.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(arrival, sorted);
    // No timeline for groups of context.
    let out = run_dgrep(agent, &["--sort", "time", "-C", "1", "PANIC"]);
    assert_eq!(out.status.code(), Some(2));
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
