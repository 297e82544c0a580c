//! Judging a lab's agents from their event logs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rumor_daemon::cluster::{LocalCluster, first_per_observer, live_members, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

/// Checks that the running agents among `indices` form one full
/// membership: each lists as live exactly the current ids of all of them,
/// nothing more and nothing less. Returns those ids, or what is wrong.
pub fn one_full_membership(
    cluster: &mut LocalCluster,
    indices: &[usize],
) -> Result<BTreeMap<usize, NodeId>, String> {
    let running: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| cluster.is_running(i))
        .collect();
    if running.is_empty() {
        return Err(format!("none of agents {indices:?} runs"));
    }
    let ids = cluster.ids(&running);
    if ids.len() < running.len() {
        let missing: Vec<&str> = running
            .iter()
            .filter(|i| !ids.contains_key(i))
            .map(|&i| cluster.agents[i].name.as_str())
            .collect();
        return Err(format!("no identity yet: {}", missing.join(", ")));
    }
    let want: BTreeSet<NodeId> = ids.values().copied().collect();
    let mut problems = Vec::new();
    for (&i, &observer) in &ids {
        let live = live_members(&cluster.agents[i].events(), observer);
        let missing: Vec<String> = want.difference(&live).map(|id| id.to_string()).collect();
        let extra: Vec<String> = live.difference(&want).map(|id| id.to_string()).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} lacks {}",
                cluster.agents[i].name,
                missing.join(", ")
            ));
        }
        if !extra.is_empty() {
            problems.push(format!(
                "{} also lists {}",
                cluster.agents[i].name,
                extra.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(ids)
    } else {
        Err(problems.join("; "))
    }
}

/// Waits up to `timeout` for [`one_full_membership`] among `indices`, and
/// for all of them to run; panics with the event logs if it never comes.
pub fn await_one_full_membership(
    cluster: &mut LocalCluster,
    indices: &[usize],
    timeout: Duration,
) -> BTreeMap<usize, NodeId> {
    let result = wait_for(timeout, Duration::from_millis(50), || {
        if let Some(&dead) = indices.iter().find(|&&i| !cluster.is_running(i)) {
            return Err(format!(
                "{} exited: {}",
                cluster.agents[dead].name,
                stderr(cluster, dead)
            ));
        }
        one_full_membership(cluster, indices)
    });
    result
        .unwrap_or_else(|why| panic!("no full membership: {why}\n{}", dump(&cluster.all_events())))
}

/// Checks that every id in `observers` has recorded every id in `victims`
/// failed; says who has not, if not.
pub fn declared_failed(
    cluster: &LocalCluster,
    observers: &[NodeId],
    victims: &[NodeId],
) -> Result<(), String> {
    let events = cluster.all_events();
    let observers: BTreeSet<NodeId> = observers.iter().copied().collect();
    let mut problems = Vec::new();
    for &victim in victims {
        let seen = first_per_observer(&events, "failed", victim, &observers);
        let silent: Vec<String> = observers
            .iter()
            .filter(|o| !seen.contains_key(o))
            .map(|o| o.to_string())
            .collect();
        if !silent.is_empty() {
            problems.push(format!("{victim} not failed at {}", silent.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Agent `index`'s standard error so far.
pub fn stderr(cluster: &LocalCluster, index: usize) -> String {
    std::fs::read_to_string(cluster.agents[index].data_dir.join("stderr.log")).unwrap_or_default()
}

/// The records, one per line, for a failure message.
pub fn dump(records: &[EventRecord]) -> String {
    records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialize"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `lines` lines of every agent's `agent.log` and `stderr.log`,
/// each under the agent's name, for a failure message.
pub fn log_tails(cluster: &LocalCluster, lines: usize) -> String {
    let mut out = String::new();
    for agent in &cluster.agents {
        for file in ["agent.log", "stderr.log"] {
            let text = std::fs::read_to_string(agent.data_dir.join(file)).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let tail = &all[all.len().saturating_sub(lines)..];
            if tail.is_empty() {
                continue;
            }
            out += &format!(
                "--- {} {file} (last {} of {} lines)\n{}\n",
                agent.name,
                tail.len(),
                all.len(),
                tail.join("\n")
            );
        }
    }
    out
}
