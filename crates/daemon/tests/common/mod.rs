//! Shared helpers of the multi-process tests: clusters of real `rumor agent`
//! processes on distinct loopback addresses, judged from their events.jsonl.

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rumor_daemon::cluster::{LocalCluster, first_per_observer, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

/// The `rumor` binary under test.
pub const RUMOR: &str = env!("CARGO_BIN_EXE_rumor");

/// Runs `rumor args` to the end.
pub fn rumor(args: &[&str]) -> std::process::Output {
    std::process::Command::new(RUMOR)
        .args(args)
        .output()
        .expect("rumor runs")
}

/// Runs `rumor args`, expects success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = rumor(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `127.0.NET.(1+i):PORT`: each test picks its own NET and PORT.
pub fn addr(net: u8, i: usize, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, net, 1 + i as u8), port))
}

/// Starts `n` agents on `127.0.NET.x:PORT` with `args`; agent 0 starts the
/// cluster, the others join through agents 0 and 1. Waits until all see all.
pub fn form(
    net: u8,
    port: u16,
    n: usize,
    args: &[&str],
) -> (LocalCluster, BTreeMap<usize, NodeId>) {
    let mut cluster = LocalCluster::new(RUMOR, None).expect("a temporary directory");
    for i in 0..n {
        let join: Vec<SocketAddr> = (0..i.min(2)).map(|j| addr(net, j, port)).collect();
        cluster
            .add(&format!("agent-{i}"), addr(net, i, port), &join, args)
            .expect("rumor agent spawns");
    }
    let all: Vec<usize> = (0..n).collect();
    let ids = await_all_see_all(&mut cluster, &all);
    // Gossip alone can spread a newcomer; the join itself must also have
    // completed: the introducer's answer reached each joiner's listener.
    for agent in &cluster.agents[1..] {
        let log = agent.data_dir.join("agent.log");
        wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("admitted by") {
                Ok(())
            } else {
                Err(text)
            }
        })
        .unwrap_or_else(|text| panic!("{} never got a join answer:\n{text}", agent.name));
    }
    (cluster, ids)
}

/// Waits (up to 30 s) until every agent in `indices` lists all of them alive.
pub fn await_all_see_all(cluster: &mut LocalCluster, indices: &[usize]) -> BTreeMap<usize, NodeId> {
    let result = wait_for(Duration::from_secs(30), Duration::from_millis(50), || {
        for &i in indices {
            if !cluster.is_running(i) {
                let stderr = std::fs::read_to_string(cluster.agents[i].data_dir.join("stderr.log"))
                    .unwrap_or_default();
                return Err(format!("{} exited: {stderr}", cluster.agents[i].name));
            }
        }
        cluster.all_see_all(indices)
    });
    match result {
        Ok(ids) => ids,
        Err(why) => panic!(
            "cluster did not converge: {why}\n{}",
            dump(&cluster.all_events())
        ),
    }
}

/// The records, one per line, for a failure message.
pub fn dump(records: &[EventRecord]) -> String {
    records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialize"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until every id in `observers` marked every id in `victims` failed
/// (up to 15 s), then checks the contract: for each victim, at least one
/// observer within 3 s of `killed_at` (Unix ms) and every observer within 6 s.
/// Returns (first, last) detection delays in ms over all victims.
pub fn assert_detected(
    cluster: &LocalCluster,
    victims: &[NodeId],
    observers: &BTreeSet<NodeId>,
    killed_at: u64,
) -> (u64, u64) {
    let complete = wait_for(Duration::from_secs(15), Duration::from_millis(50), || {
        let events = cluster.all_events();
        for victim in victims {
            let seen = first_per_observer(&events, "failed", *victim, observers);
            if seen.len() < observers.len() {
                return Err(format!(
                    "{victim}: {} of {} observers",
                    seen.len(),
                    observers.len()
                ));
            }
        }
        Ok(events)
    });
    let events = cluster.all_events();
    let about: Vec<EventRecord> = events
        .iter()
        .filter(|r| victims.contains(&r.member) && r.member != r.observer)
        .cloned()
        .collect();
    if let Err(why) = complete {
        panic!(
            "not every live member marked the crashed ones failed: {why}\nkilled at {killed_at}\n{}",
            dump(&about)
        );
    }
    let (mut first_all, mut last_all) = (u64::MAX, 0);
    for victim in victims {
        let seen = first_per_observer(&events, "failed", *victim, observers);
        let first = seen
            .values()
            .min()
            .expect("complete")
            .saturating_sub(killed_at);
        let last = seen
            .values()
            .max()
            .expect("complete")
            .saturating_sub(killed_at);
        assert!(
            first <= 3000 && last <= 6000,
            "{victim}: first detection after {first} ms (≤ 3000), last after {last} ms (≤ 6000)\nkilled at {killed_at}\n{}",
            dump(&about)
        );
        first_all = first_all.min(first);
        last_all = last_all.max(last);
    }
    (first_all, last_all)
}

/// Asserts that nobody ever marked a member outside `crashed` failed.
pub fn assert_no_false_positive(cluster: &LocalCluster, crashed: &BTreeSet<NodeId>) {
    let events = cluster.all_events();
    let wrong: Vec<EventRecord> = events
        .iter()
        .filter(|r| r.event == "failed" && !crashed.contains(&r.member))
        .cloned()
        .collect();
    assert!(
        wrong.is_empty(),
        "live members marked failed:\n{}",
        dump(&wrong)
    );
}

/// A keyring file of `keys` fresh keys in `dir`, readable by its owner only.
pub fn keyring_file(dir: &std::path::Path, name: &str, keys: usize) -> std::path::PathBuf {
    let ring = rumor_seal::Keyring::from_keys(
        (0..keys).map(|_| rumor_seal::generate_key().expect("the system has randomness")),
    )
    .expect("a keyring of fresh keys");
    let path = dir.join(name);
    ring.save(&path).expect("the keyring file is written");
    path
}
