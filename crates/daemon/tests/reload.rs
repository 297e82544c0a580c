//! SIGHUP on an agent started with `--config`: the file is read again, new
//! tags reach every member, a new `--join` list is followed, what needs a
//! restart is named, and a broken file changes nothing and stops nothing.
//! Loopback net 127.0.63.x, port 7063.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{RUMOR, addr, ok};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rumor_daemon::cluster::{LocalCluster, wait_for};

const NET: u8 = 63;
const PORT: u16 = 7063;

fn hang_up(cluster: &LocalCluster, index: usize) {
    let pid = cluster.agents[index].pid().expect("the agent runs");
    kill(Pid::from_raw(pid as i32), Signal::SIGHUP).unwrap();
}

/// Waits until the agent's agent.log holds a line containing `text`.
fn await_log_line(cluster: &LocalCluster, index: usize, text: &str) {
    let log = cluster.agents[index].data_dir.join("agent.log");
    wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let all = std::fs::read_to_string(&log).unwrap_or_default();
        match all.lines().any(|l| l.contains(text)) {
            true => Ok(()),
            false => Err(all),
        }
    })
    .unwrap_or_else(|log| panic!("no line with {text:?} in agent.log:\n{log}"));
}

/// The tags `agent` lists for `node`, as `role=…,zone=…`.
fn tags_seen(agent: &str, node: &str) -> Option<serde_json::Value> {
    let out = ok(&["members", "--agent", agent, "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    rows.into_iter()
        .find(|r| r["node"] == node)
        .map(|r| r["tags"].clone())
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn sighup_rereads_the_config_file_and_applies_what_can_change() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let lone = dir.path().join("lone.toml");
    write(&config, "detector = \"swim\"\n[tags]\nrole = \"a\"\n");
    write(&lone, "detector = \"swim\"\n");
    let mut cluster = LocalCluster::new(RUMOR, None).unwrap();
    let seed = addr(NET, 0, PORT);
    cluster
        .add("agent-0", seed, &[], &["--detector", "swim"])
        .unwrap();
    let with_config = ["--config", config.to_str().unwrap()];
    cluster
        .add("agent-1", addr(NET, 1, PORT), &[seed], &with_config)
        .unwrap();
    // Agent 2 starts a cluster of its own: its file names no introducer.
    cluster
        .add(
            "agent-2",
            addr(NET, 2, PORT),
            &[],
            &["--config", lone.to_str().unwrap()],
        )
        .unwrap();
    let ids = common::await_all_see_all(&mut cluster, &[0, 1]);
    let watcher = seed.to_string();
    let one = ids[&1].to_string();
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || match tags_seen(&watcher, &one) {
            Some(t) if t["role"] == "a" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .unwrap_or_else(|t| panic!("agent 0 never saw role=a: {t:?}"));

    // New tags and a new probe interval: the tags reach agent 0 under a
    // new incarnation; the timing waits for a restart, and says so.
    write(
        &config,
        "detector = \"swim\"\n[timing]\nprobe_interval = \"200ms\"\n[tags]\nrole = \"b\"\nzone = \"z1\"\n",
    );
    hang_up(&cluster, 1);
    await_log_line(&cluster, 1, "reloaded: tags now role=b zone=z1");
    await_log_line(
        &cluster,
        1,
        "timing changed; that takes effect at the next start",
    );
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || match tags_seen(&watcher, &one) {
            Some(t) if t["role"] == "b" && t["zone"] == "z1" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .unwrap_or_else(|t| panic!("agent 0 never saw the new tags: {t:?}"));

    // A file broken by an edit: nothing applied, nothing stopped.
    write(&config, "[tags\nrole = \"c\"\n");
    hang_up(&cluster, 1);
    await_log_line(&cluster, 1, "not reloaded, the settings in force stay");
    assert!(cluster.is_running(1), "a broken file stopped the agent");
    let info = ok(&["info", "--agent", &addr(NET, 1, PORT).to_string()]);
    assert!(info.contains("role=b,zone=z1"), "{info}");
    let at = addr(NET, 1, PORT).to_string();
    let info = ok(&["info", "--agent", &at, "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["counters"]["config_reloads"], 1, "{info}");
    assert_eq!(info["counters"]["config_reloads_failed"], 1, "{info}");

    // The lone agent's file gains an introducer: it joins the others.
    write(
        &lone,
        &format!("detector = \"swim\"\njoin = [\"{seed}\"]\n"),
    );
    hang_up(&cluster, 2);
    await_log_line(&cluster, 2, &format!("reloaded: introducers now {seed}"));
    common::await_all_see_all(&mut cluster, &[0, 1, 2]);
    for i in 0..3 {
        assert!(cluster.is_running(i), "agent {i} stopped");
    }
}
