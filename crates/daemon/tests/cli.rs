//! Mistakes on the command line give one line and a non-zero exit, never a
//! panic; `rumor members` and `rumor leave` work against a running agent.

mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{addr, form, rumor};
use rumor_daemon::cluster::wait_for;

/// Runs `rumor args`, expects failure with exactly one line on stderr
/// containing `expect`, and returns that line.
fn mistake(args: &[&str], expect: &str) -> String {
    let out = rumor(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    // The notice of an agent running without a keyring is not the mistake.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("rumor: no --keyring"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?} printed more than one line:\n{stderr}"
    );
    assert!(lines[0].starts_with("rumor: "), "{args:?}: {stderr}");
    assert!(
        lines[0].contains(expect),
        "{args:?}: expected {expect:?} in {stderr}"
    );
    lines[0].to_string()
}

#[test]
fn mistakes_give_one_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let data = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    let taken = TcpListener::bind(addr(33, 0, 7033)).unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    mistake(
        &["agent", "--bind", &bind, "--data-dir", &data("a")],
        "Address already in use",
    );
    drop(taken);

    mistake(&["agent", "--bind", "localhost"], "bad address");
    mistake(&["agent", "--bind", "127.0.33.2:99999"], "bad address");
    mistake(&["agent", "--bind", "0.0.0.0:7033"], "not a wildcard");
    mistake(
        &["agent", "--bind", "127.0.33.2:7033", "--t-fail", "soon"],
        "bad duration",
    );
    mistake(
        &["agent", "--bind", "127.0.33.2:7033", "--drop-rate", "2"],
        "bad drop rate",
    );
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--config",
            "/nonexistent/rumor.toml",
        ],
        "/nonexistent/rumor.toml",
    );
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(
        &bad_toml,
        "[timing]\nheartbeat = \"100ms\"\nt_fial = \"1s\"\n",
    )
    .unwrap();
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--config",
            bad_toml.to_str().unwrap(),
        ],
        "line 3",
    );
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--detector",
            "telepathy",
            "--data-dir",
            &data("b"),
        ],
        "telepathy",
    );
    // Nobody listens there: after the budget, one line (with --quiet, the
    // per-attempt log lines stay in agent.log).
    let line = mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.3:7033",
            "--join",
            "127.0.33.4:7033",
            "--join-timeout",
            "2s",
            "--quiet",
            "--data-dir",
            &data("c"),
        ],
        "cannot join the cluster",
    );
    assert!(line.contains("127.0.33.4:7033"), "{line}");
    let log = std::fs::read_to_string(dir.path().join("c/agent.log")).unwrap();
    assert!(
        log.matches("asked 127.0.33.4:7033 to join").count() >= 2,
        "one log line per attempt expected:\n{log}"
    );

    mistake(
        &[
            "members",
            "--agent",
            "127.0.33.5:7033",
            "--timeout",
            "500ms",
        ],
        "127.0.33.5:7033",
    );
    mistake(&["leave", "--agent", "not-an-address"], "bad address");
    let open_keyring = dir.path().join("open.keys");
    std::fs::write(
        &open_keyring,
        format!("{}\n", rumor_seal::generate_key().unwrap().to_base64()),
    )
    .unwrap();
    std::fs::set_permissions(&open_keyring, std::fs::Permissions::from_mode(0o644)).unwrap();
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--keyring",
            open_keyring.to_str().unwrap(),
        ],
        "chmod 600",
    );
    let bad_keyring = dir.path().join("bad.keys");
    std::fs::write(&bad_keyring, "not base64 at all!\n").unwrap();
    std::fs::set_permissions(&bad_keyring, std::fs::Permissions::from_mode(0o600)).unwrap();
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--keyring",
            bad_keyring.to_str().unwrap(),
        ],
        "line 1",
    );
    mistake(
        &[
            "agent",
            "--bind",
            "127.0.33.2:7033",
            "--keyring",
            "/nonexistent/keyring",
        ],
        "/nonexistent/keyring",
    );
    mistake(&["frobnicate"], "frobnicate");
}

#[test]
fn members_and_leave_against_running_agents() {
    let (net, port) = (34, 7034);
    let (mut cluster, ids) = form(net, port, 3, &[]);
    let agent = addr(net, 1, port).to_string();

    let out = rumor(&["members", "--agent", &agent, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = rows.iter().map(|r| r["node"].as_str().unwrap()).collect();
    for id in ids.values() {
        assert!(
            listed.contains(&id.to_string().as_str()),
            "{id} missing from {listed:?}"
        );
    }
    assert!(rows.iter().all(|r| r["state"] == "alive"), "{rows:?}");

    let table = rumor(&["members", "--agent", &agent]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("(this agent)") && table.contains("3 members, 3 alive"),
        "{table}"
    );

    let out = rumor(&["leave", "--agent", &agent]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&ids[&1].to_string()));
    let status = cluster
        .reap(1, Duration::from_secs(10))
        .expect("the agent exits after leave");
    assert!(status.success());
    let leaver = ids[&1];
    let others = [ids[&0], ids[&2]];
    wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let events = cluster.all_events();
        let seen = others
            .iter()
            .filter(|o| {
                events
                    .iter()
                    .any(|r| r.observer == **o && r.member == leaver && r.event == "left")
            })
            .count();
        if seen == 2 {
            Ok(())
        } else {
            Err(format!("{seen} of 2 recorded the leave"))
        }
    })
    .unwrap();
}

/// Agents answer dgrep queries: every live member searches its own logs and
/// streams the result back on the query's own connection, sealed in a keyed
/// cluster; an unsealed query gets nothing, and an address the query names
/// as its sender gets nothing either (no connection, not a byte).
#[test]
fn every_agent_answers_dgrep() {
    let (net, port) = (41, 7041);
    let keys = tempfile::tempdir().unwrap();
    let ring = keys.path().join("ring");
    let keyring = rumor_seal::Keyring::from_keys([rumor_seal::generate_key().unwrap()]).unwrap();
    keyring.save(&ring).unwrap();
    let sealer = rumor_seal::Sealer::new(
        keyring,
        rumor_seal::DEFAULT_LABEL,
        rumor_seal::SealerConfig::default(),
    )
    .unwrap();
    let (_cluster, ids) = form(net, port, 3, &["--keyring", ring.to_str().unwrap()]);
    let agent = addr(net, 0, port);
    let unsealed = rumor_dgrep::client::live_members(agent, None, Duration::from_secs(3))
        .expect_err("a keyed agent answers no unsealed query");
    assert!(
        unsealed.to_string().contains("give --keyring"),
        "{unsealed}"
    );
    let members = rumor_dgrep::client::live_members(agent, Some(&sealer), Duration::from_secs(3))
        .expect("the agent lists its members");
    assert_eq!(members.len(), 3, "{members:?}");
    let request = rumor_wire::DgrepRequest {
        query: 7,
        patterns: vec!["started as".into()],
        flags: rumor_wire::GrepFlags::default(),
    };
    let mut replies = 0;
    let outcome = rumor_dgrep::client::fan_out(
        &members,
        &request,
        Some(&sealer),
        Duration::from_secs(10),
        &mut |_| {
            replies += 1;
            Ok(())
        },
    )
    .expect("fan-out runs");
    assert!(outcome.complete(), "{outcome:?}");
    assert_eq!(outcome.answered.len(), 3);
    for done in &outcome.answered {
        assert!(ids.values().any(|id| *id == done.node));
        assert!(done.error.is_none(), "{done:?}");
        let selected: u64 = done.counts.iter().map(|c| c.count).sum();
        assert!(
            selected >= 1,
            "{} found no 'started as' line: {done:?}",
            done.node
        );
    }
    assert!(replies >= 3);

    // A query naming a third party as its sender: the answer still comes
    // back on the query's connection, and the third party hears nothing.
    let third = TcpListener::bind(addr(net, 9, 0)).unwrap();
    third.set_nonblocking(true).unwrap();
    let envelope = rumor_wire::Envelope::new(
        third.local_addr().unwrap(),
        rumor_wire::Dgrep::Request(request),
    );
    let mut exchange =
        rumor_transport::Exchange::open(agent, &envelope, Some(&sealer), Duration::from_secs(5))
            .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = exchange
            .next(deadline)
            .expect("a sealed answer")
            .expect("the answer ends with a DgrepDone");
        if let rumor_wire::Message::Dgrep(rumor_wire::Dgrep::Done(done)) = answer.body {
            assert!(done.error.is_none(), "{done:?}");
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        matches!(third.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the third party named as the sender was contacted"
    );
}

/// `rumor bench-detect` reports, beside the detections, what each agent
/// sent per second before the first crash, with a config file applied to
/// every agent: a longer heartbeat must cost fewer datagrams.
#[test]
fn bench_detect_reports_traffic_per_agent_and_applies_a_config() {
    let run = |net: &str, port: &str, config: Option<&std::path::Path>| -> serde_json::Value {
        let mut args = vec![
            "bench-detect",
            "--nodes",
            "3",
            "--crashes",
            "1",
            "--traffic-window",
            "2s",
            "--net",
            net,
            "--port",
            port,
            "--json",
        ];
        let config = config.map(|c| c.display().to_string());
        if let Some(config) = &config {
            args.extend(["--config", config.as_str()]);
        }
        let out = rumor(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    let rates = |v: &serde_json::Value, key: &str| -> Vec<f64> {
        v["traffic"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let defaults = run("55", "7055", None);
    assert_eq!(defaults["crashes"].as_array().unwrap().len(), 1);
    let datagrams = rates(&defaults, "datagrams_per_second");
    let bytes = rates(&defaults, "bytes_per_second");
    assert_eq!(datagrams.len(), 3, "{defaults}");
    // Every datagram carries at least the IP and UDP headers.
    for (b, d) in bytes.iter().zip(&datagrams) {
        assert!(*d > 1.0 && *b >= 28.0 * d, "{defaults}");
    }

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("slow.toml");
    std::fs::write(
        &config,
        "[timing]\nheartbeat = \"800ms\"\nt_fail = \"4s\"\n",
    )
    .unwrap();
    let slow = run("56", "7056", Some(&config));
    let slow_datagrams = rates(&slow, "datagrams_per_second");
    let median = |v: &[f64]| v[v.len() / 2];
    assert!(
        median(&slow_datagrams) < median(&datagrams) / 2.0,
        "heartbeat 800 ms: {slow_datagrams:?} datagrams/s against {datagrams:?} at 200 ms"
    );
}
