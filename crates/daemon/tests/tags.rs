//! Tags and user broadcasts on real agents: `--tag` (and `[tags]` in the
//! config file) reach every member, `rumor members` shows them and filters
//! by them, `rumor info` shows an agent's own, and `rumor broadcast` lands
//! once in every agent's agent.log. Mistakes are one line. Loopback net
//! 127.0.61.x, port 7061.

mod common;

use std::time::Duration;

use common::{RUMOR, addr, ok, rumor};
use rumor_daemon::cluster::wait_for;

/// Runs `rumor args`, expects failure with one line on stderr holding `expect`.
fn one_line_error(args: &[&str], expect: &str) {
    let out = rumor(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    assert!(
        lines[0].starts_with("rumor: ") && lines[0].contains(expect),
        "{args:?}: expected {expect:?} in {stderr}"
    );
}

/// A counter of the agent at `at`, as `rumor info` reports it.
fn counter(at: &str, name: &str) -> u64 {
    let info = ok(&["info", "--agent", at, "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    info["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {info}"))
}

/// The nodes `rumor members` lists with these extra arguments.
fn listed(agent: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["members", "--agent", agent, "--format", "json"];
    args.extend_from_slice(extra);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ok(&args)).unwrap();
    let mut nodes: Vec<String> = rows
        .iter()
        .map(|r| r["node"].as_str().unwrap().to_string())
        .collect();
    nodes.sort();
    nodes
}

#[test]
fn tags_are_listed_and_filtered_and_a_broadcast_reaches_every_agent_once() {
    let (net, port) = (61, 7061);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "[tags]\nrole = \"web\"\nzone = \"b\"\n").unwrap();
    // Agent 2's tags come from its file; a flag would override a key of it.
    let args: [&[&str]; 3] = [
        &["--tag", "role=web", "--tag", "zone=a"],
        &["--tag", "role=db"],
        &["--config", config.to_str().unwrap()],
    ];
    let mut cluster = rumor_daemon::cluster::LocalCluster::new(RUMOR, None).unwrap();
    for (i, extra) in args.iter().enumerate() {
        let join: Vec<_> = (0..i.min(2)).map(|j| addr(net, j, port)).collect();
        cluster
            .add(&format!("agent-{i}"), addr(net, i, port), &join, extra)
            .expect("rumor agent spawns");
    }
    let ids = common::await_all_see_all(&mut cluster, &[0, 1, 2]);
    let agent = addr(net, 1, port).to_string();
    let id = |i: usize| ids[&i].to_string();

    // Every agent learns every agent's tags (a later one's included).
    let expected = [("web", "a"), ("db", ""), ("web", "b")];
    wait_for(Duration::from_secs(10), Duration::from_millis(100), || {
        let out = ok(&["members", "--agent", &agent, "--format", "json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        for (i, (role, zone)) in expected.iter().enumerate() {
            let row = rows.iter().find(|r| r["node"] == id(i).as_str());
            let tags = row.map(|r| &r["tags"]);
            let good =
                tags.is_some_and(|t| t["role"] == *role && (zone.is_empty() || t["zone"] == *zone));
            if !good {
                return Err(out);
            }
        }
        Ok(())
    })
    .unwrap_or_else(|out| panic!("tags never all arrived:\n{out}"));

    let table = ok(&["members", "--agent", &agent]);
    assert!(table.contains("TAGS"), "{table}");
    assert!(table.contains("role=web,zone=a"), "{table}");
    assert!(table.contains("role=db  (this agent)"), "{table}");
    assert_eq!(listed(&agent, &["--tag", "role=web"]), {
        let mut v = vec![id(0), id(2)];
        v.sort();
        v
    });
    assert_eq!(
        listed(&agent, &["--tag", "role=web", "--tag", "zone=b"]),
        vec![id(2)]
    );
    assert_eq!(
        listed(&agent, &["--status", "alive", "--tag", "role=db"]),
        vec![id(1)]
    );
    assert_eq!(
        listed(&agent, &["--tag", "role=cache"]),
        Vec::<String>::new()
    );
    one_line_error(
        &["members", "--agent", &agent, "--tag", "role"],
        "KEY=VALUE",
    );

    let info = ok(&["info", "--agent", &addr(net, 2, port).to_string()]);
    assert!(info.contains("tags      role=web,zone=b"), "{info}");
    let info = ok(&["info", "--agent", &agent, "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["tags"]["role"], "db");

    // A broadcast through agent 0: one line in every agent.log, once.
    let sent = ok(&[
        "broadcast",
        "deploy \"42\"",
        "--agent",
        &addr(net, 0, port).to_string(),
    ]);
    assert!(sent.contains("broadcast #1"), "{sent}");
    let line = format!("broadcast #1 from {}: \"deploy \\\"42\\\"\"", id(0));
    for (i, agent) in cluster.agents.iter().enumerate() {
        let log = agent.data_dir.join("agent.log");
        let count = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines().filter(|l| l.ends_with(&line)).count()
        };
        wait_for(
            Duration::from_secs(10),
            Duration::from_millis(50),
            || match count() {
                0 => Err(format!("{} never logged {line}", agent.name)),
                _ => Ok(()),
            },
        )
        .unwrap_or_else(|why| panic!("{why}"));
        // Every member passes it on: once this agent has heard it again,
        // it still logged it once.
        let at = addr(net, i, port).to_string();
        wait_for(
            Duration::from_secs(10),
            Duration::from_millis(50),
            || match counter(&at, "broadcast_duplicates") {
                0 => Err(format!("{} never heard the broadcast again", agent.name)),
                _ => Ok(()),
            },
        )
        .unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(count(), 1, "{}", agent.name);
        let (sent, received) = (u64::from(i == 0), u64::from(i != 0));
        assert_eq!(counter(&at, "broadcasts_sent"), sent, "{}", agent.name);
        assert_eq!(counter(&at, "broadcasts_received"), received);
    }
    let long = "x".repeat(600);
    one_line_error(
        &["broadcast", &long, "--agent", &agent],
        "over the 512-byte limit",
    );
}

#[test]
fn malformed_or_oversized_tags_are_refused_in_one_line() {
    let bind = addr(62, 0, 7062).to_string();
    one_line_error(&["agent", "--bind", &bind, "--tag", "role"], "KEY=VALUE");
    one_line_error(&["agent", "--bind", &bind, "--tag", "=web"], "empty key");
    let big = format!("blob={}", "x".repeat(600));
    one_line_error(
        &["agent", "--bind", &bind, "--tag", &big, "--check-config"],
        "over the 512-byte limit",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, format!("[tags]\nblob = \"{}\"\n", "y".repeat(300))).unwrap();
    let config = config.to_str().unwrap();
    let more = format!("more={}", "z".repeat(300));
    one_line_error(
        &[
            "agent",
            "--bind",
            &bind,
            "--config",
            config,
            "--tag",
            &more,
            "--check-config",
        ],
        "bad tags: they take 614 bytes",
    );
    // What --check-config prints gives the tags back as a table.
    let out = ok(&[
        "agent",
        "--bind",
        &bind,
        "--config",
        config,
        "--tag",
        "role=web",
        "--check-config",
    ]);
    assert!(
        out.contains("[tags]") && out.contains("role = \"web\""),
        "{out}"
    );
}
