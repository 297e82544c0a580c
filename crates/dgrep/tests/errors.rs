//! Requests dgrep cannot or must not serve get a clear error and exit status
//! 2, promptly, never a hang.

mod support;

use std::time::{Duration, Instant};

use std::sync::Arc;

use rumor_dgrep::ServeConfig;
use rumor_seal::{DEFAULT_LABEL, Keyring, Sealer, SealerConfig, generate_key};
use support::{Behaviour, data_dir, dgrep, run_dgrep, start_keyed_cluster, write_logs};

/// Two answering stand-in agents; returns the address to ask.
fn cluster() -> (std::net::SocketAddr, Vec<tempfile::TempDir>) {
    keyed_cluster(None)
}

/// Two answering stand-in agents sealing under `sealer` when given.
fn keyed_cluster(sealer: Option<Arc<Sealer>>) -> (std::net::SocketAddr, Vec<tempfile::TempDir>) {
    let dirs: Vec<_> = (0..2).map(|_| data_dir()).collect();
    for (i, dir) in dirs.iter().enumerate() {
        write_logs(dir.path(), i as u64, 200, false);
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
    (start_keyed_cluster(configs, sealer)[0].addr, dirs)
}

/// Runs dgrep with a long timeout and checks it failed with status 2, well
/// before the timeout; returns stderr.
fn fails_promptly(agent: std::net::SocketAddr, args: &[&str]) -> String {
    let started = Instant::now();
    let mut all = vec!["--timeout", "60s"];
    all.extend_from_slice(args);
    let out = run_dgrep(agent, &all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{args:?} took the timeout"
    );
    assert!(out.stdout.is_empty(), "{args:?} printed lines");
    stderr
}

#[test]
fn a_pattern_the_engine_rejects_is_refused_in_one_line_before_asking_anyone() {
    // Nobody listens at this agent address: the refusal must come first.
    let nobody: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let stderr = fails_promptly(nobody, &["-E", "a(b"]);
    assert_eq!(stderr, "dgrep: bad pattern: \"a(b\": unclosed group\n");
    let stderr = fails_promptly(nobody, &["-E", "(x{1000}){1000}"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad pattern"), "{stderr}");
}

#[test]
fn a_pattern_file_that_cannot_be_read_is_named() {
    let nobody: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let stderr = fails_promptly(nobody, &["-f", "/nonexistent/patterns"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/patterns"), "{stderr}");
}

#[test]
fn dash_h_hides_file_names_and_help_is_long_only() {
    let (agent, _dirs) = cluster();
    let out = run_dgrep(agent, &["-h", "-c", "ERROR"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let (_, count) = line.split_once(' ').unwrap();
        assert!(count.parse::<u64>().is_ok(), "{line}");
    }
    let out = dgrep().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--no-filename"), "{help}");
}

#[test]
fn oversized_and_too_many_patterns_are_refused() {
    let (agent, _dirs) = cluster();
    let huge = "x".repeat(70 * 1024);
    let stderr = fails_promptly(agent, &["-F", &huge]);
    assert!(
        stderr.contains("request refused: patterns of 71680 bytes"),
        "{stderr}"
    );
    let mut many = Vec::new();
    for _ in 0..1100 {
        many.extend_from_slice(&["-e", "y"]);
    }
    let stderr = fails_promptly(agent, &many);
    assert!(
        stderr.contains("request refused: 1100 patterns"),
        "{stderr}"
    );
}

#[test]
fn file_arguments_are_refused_before_asking_anyone() {
    // Nobody listens at this agent address: the refusal must come first.
    let nobody: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let stderr = fails_promptly(nobody, &["root", "/etc/passwd"]);
    assert!(stderr.contains("takes no FILE arguments"), "{stderr}");
    let stderr = fails_promptly(nobody, &["-e", "root", "/etc/shadow"]);
    assert!(stderr.contains("takes no FILE arguments"), "{stderr}");
}

#[test]
fn patterns_without_a_linear_time_meaning_are_refused_locally() {
    let nobody: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let stderr = fails_promptly(nobody, &[r"\(a\)\1"]);
    assert!(
        stderr.contains("back-references are not supported"),
        "{stderr}"
    );
}

#[test]
fn no_agent_to_ask_is_an_error() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let stderr = fails_promptly(addr, &["x"]);
    assert!(stderr.contains("cannot get the member list"), "{stderr}");
}

#[test]
fn help_documents_the_exit_statuses() {
    let out = dgrep().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("3  partial result"), "{help}");
}

#[test]
fn a_keyed_cluster_answers_only_requests_sealed_under_its_keyring() {
    let keys = data_dir();
    let ring = keys.path().join("ring");
    let keyring = Keyring::from_keys([generate_key().unwrap()]).unwrap();
    keyring.save(&ring).unwrap();
    let sealer = Sealer::new(keyring, DEFAULT_LABEL, SealerConfig::default()).unwrap();
    let (agent, _dirs) = keyed_cluster(Some(Arc::new(sealer)));
    let ring = ring.to_str().unwrap();

    // Without the keyring: one clear line and status 2, at once.
    let stderr = fails_promptly(agent, &["ERROR"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is the cluster keyed? give --keyring"),
        "{stderr}"
    );
    // Another cluster's label: refused too, and said so.
    let stderr = fails_promptly(agent, &["--keyring", ring, "--cluster-label", "other", "x"]);
    assert!(stderr.contains("--cluster-label"), "{stderr}");
    // A keyring file that is not one: refused before asking anyone.
    let stderr = fails_promptly(agent, &["--keyring", "/nonexistent/ring", "x"]);
    assert!(stderr.contains("/nonexistent/ring"), "{stderr}");

    // With it (as a flag or from the environment): every member answers.
    for by_env in [false, true] {
        let mut command = dgrep();
        if by_env {
            command.env("RUMOR_KEYRING", ring);
        } else {
            command.args(["--keyring", ring]);
        }
        let out = command
            .args(["-c", "ERROR", "--agent", &agent.to_string()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("2 of 2 members answered"), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    }
}
