//! What the namespace fault tests share: the timing contract, the lab
//! formed and judged, failure diagnoses, and the checks every fault ends
//! with (one full membership, dead versions stay dead, nothing left
//! behind).

#![allow(dead_code)] // helpers kept beside the tests that may want them

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rumor_daemon::agent::unix_ms;
use rumor_daemon::cluster::{LocalCluster, first_per_observer, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

use crate::netlab::judge::{dump, log_tails, one_full_membership};
use crate::netlab::{NetLab, must};

/// How long a new lab's agents have to form one membership.
pub const FORM: Duration = Duration::from_secs(30);
/// How soon after a heal every live agent must hold one full membership.
pub const HEAL: Duration = Duration::from_secs(10);
/// How long a membership reached after a heal must then hold unchanged: a
/// cluster that splits again moments later has not healed.
pub const HOLD: Duration = Duration::from_secs(3);
/// The length of the long cuts: far past any failure detection, so both
/// sides have declared the other failed and must rejoin to heal.
pub const CUT: Duration = Duration::from_secs(15);
/// The crash-detection contract, in ms after the kill: some live member
/// declares the crash within the first, every live member within the second.
pub const FIRST_DETECTION_MS: u64 = 3_000;
pub const ALL_DETECTION_MS: u64 = 6_000;
/// How often conditions are polled.
pub const POLL: Duration = Duration::from_millis(50);
/// The newest events a failure message shows at most.
pub const SHOWN_EVENTS: usize = 400;
/// Lines of each agent's logs a failure message shows.
pub const SHOWN_LINES: usize = 25;

/// A moment, as an instant for deadlines and as Unix milliseconds to compare
/// with the events' `ts_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub at: Instant,
    pub ms: u64,
}

impl Mark {
    pub fn now() -> Mark {
        Mark {
            at: Instant::now(),
            ms: unix_ms(),
        }
    }

    /// Milliseconds from this mark to event time `ts_ms` (0 if before it).
    pub fn to(self, ts_ms: u64) -> u64 {
        ts_ms.saturating_sub(self.ms)
    }

    /// Sleeps until `length` after this mark: for holding a fault for its
    /// set length, never for waiting on something to happen.
    pub fn sleep_until(self, length: Duration) {
        std::thread::sleep((self.at + length).saturating_duration_since(Instant::now()));
    }
}

/// What a failure message needs to be diagnosed from CI output alone: the
/// events from `since` on (the newest [`SHOWN_EVENTS`]) and the tail of
/// every agent's logs.
pub fn diagnosis(cluster: &LocalCluster, since: Mark) -> String {
    let events: Vec<EventRecord> = cluster
        .all_events()
        .into_iter()
        .filter(|r| r.ts_ms >= since.ms)
        .collect();
    let skip = events.len().saturating_sub(SHOWN_EVENTS);
    let left_out = if skip > 0 {
        format!("({skip} earlier events left out)\n")
    } else {
        String::new()
    };
    format!(
        "events since {} (Unix ms):\n{left_out}{}\n{}",
        since.ms,
        dump(&events[skip..]),
        log_tails(cluster, SHOWN_LINES)
    )
}

/// A lab of `hosts` hosts with an agent on each, started with `args` (host 0
/// starts the cluster, the others join through it), once all of them hold
/// one full membership; with the agents' ids by host. `None` where no lab
/// can be made (the test is then skipped).
pub fn form(label: &str, hosts: usize, args: &[&str]) -> Option<(NetLab, BTreeMap<usize, NodeId>)> {
    let mut lab = NetLab::or_skip(hosts)?;
    let start = Mark::now();
    let agents = lab.start_all(args);
    // The tests use host numbers as agent indices.
    assert_eq!(agents, (0..hosts).collect::<Vec<_>>());
    let (ids, took) = await_membership(&mut lab, &agents, start, FORM, start, label, "forming");
    eprintln!(
        "{label}: {hosts} agents formed one membership in {} ms",
        took.as_millis()
    );
    Some((lab, ids))
}

/// Says which of the agents `indices` no longer runs, if any.
pub fn check_running(cluster: &mut LocalCluster, indices: &[usize]) -> Result<(), String> {
    let mut gone = Vec::new();
    for &i in indices {
        if !cluster.is_running(i) {
            gone.push(cluster.agents[i].name.clone());
        }
    }
    if gone.is_empty() {
        Ok(())
    } else {
        Err(format!("exited: {}", gone.join(", ")))
    }
}

/// Waits until the agents `indices` all run and hold one full membership,
/// at most `within` after `since`; returns their ids and how long after
/// `since` it came. Panics, saying what was under way and showing the
/// events from `shown` on, if it does not come.
pub fn await_membership(
    lab: &mut NetLab,
    indices: &[usize],
    since: Mark,
    within: Duration,
    shown: Mark,
    label: &str,
    what: &str,
) -> (BTreeMap<usize, NodeId>, Duration) {
    let cluster = &mut lab.cluster;
    let left = (since.at + within).saturating_duration_since(Instant::now());
    let result = wait_for(left, POLL, || {
        check_running(cluster, indices)?;
        one_full_membership(cluster, indices)
    });
    let took = since.at.elapsed();
    match result {
        Ok(ids) => (ids, took),
        Err(why) => panic!(
            "{label}, {what}: no full membership {} ms on: {why}\n{}",
            took.as_millis(),
            diagnosis(cluster, shown)
        ),
    }
}

/// [`await_membership`] within [`HEAL`] of `heal`, then checks that the
/// same membership holds for [`HOLD`]. A failure shows the events from the
/// start of the fault, `cut`, on.
pub fn await_heal(
    lab: &mut NetLab,
    indices: &[usize],
    cut: Mark,
    heal: Mark,
    label: &str,
) -> (BTreeMap<usize, NodeId>, Duration) {
    let (ids, took) = await_membership(lab, indices, heal, HEAL, cut, label, "after the heal");
    let reached = Instant::now();
    while reached.elapsed() < HOLD {
        std::thread::sleep(Duration::from_millis(100));
        let now = check_running(&mut lab.cluster, indices)
            .and_then(|()| one_full_membership(&mut lab.cluster, indices));
        if now.as_ref() != Ok(&ids) {
            panic!(
                "{label}: the membership reached {} ms after the heal broke up {} ms later: {now:?}\nit was {ids:?}\n{}",
                took.as_millis(),
                reached.elapsed().as_millis(),
                diagnosis(&lab.cluster, cut)
            );
        }
    }
    (ids, took)
}

/// The agents' addresses on `hosts`.
pub fn addrs(lab: &NetLab, hosts: &[usize]) -> BTreeSet<SocketAddr> {
    hosts.iter().map(|&h| lab.addr(h)).collect()
}

/// The `failed` records, from `from` to `to` (Unix ms), in which an agent
/// at one of `by` declares one at `of` failed. By address, so that every
/// version of an agent counts.
pub fn failures(
    events: &[EventRecord],
    by: &BTreeSet<SocketAddr>,
    of: &BTreeSet<SocketAddr>,
    from: u64,
    to: u64,
) -> Vec<EventRecord> {
    events
        .iter()
        .filter(|r| {
            r.event == "failed"
                && by.contains(&r.observer.addr)
                && of.contains(&r.member.addr)
                && (from..=to).contains(&r.ts_ms)
        })
        .cloned()
        .collect()
}

/// Waits up to [`CUT`] after `cut` for `check` of the events so far to
/// hold (a fault noticed), and returns what it found; fails the test with
/// a diagnosis otherwise.
pub fn await_noticed<T>(
    lab: &NetLab,
    cut: Mark,
    label: &str,
    mut check: impl FnMut(&[EventRecord]) -> Result<T, String>,
) -> T {
    wait_for(CUT, POLL, || check(&lab.cluster.all_events())).unwrap_or_else(|why| {
        panic!(
            "{label}: the cut went unnoticed: {why}\n{}",
            diagnosis(&lab.cluster, cut)
        )
    })
}

/// Holds the fault until [`CUT`] after `cut`, then heals the network;
/// the moment of the heal.
pub fn hold_then_heal(lab: &mut NetLab, cut: Mark) -> Mark {
    cut.sleep_until(CUT);
    let heal = Mark::now();
    lab.heal();
    heal
}

/// How many distinct (observer, member) address pairs `records` hold.
pub fn pairs(records: &[EventRecord]) -> usize {
    records
        .iter()
        .map(|r| (r.observer.addr, r.member.addr))
        .collect::<BTreeSet<_>>()
        .len()
}

/// How many `kind` records from `from` on have a member at one of `of`
/// (every member when `None`).
pub fn count(
    events: &[EventRecord],
    kind: &str,
    of: Option<&BTreeSet<SocketAddr>>,
    from: u64,
) -> usize {
    events
        .iter()
        .filter(|r| {
            r.event == kind && r.ts_ms >= from && of.is_none_or(|of| of.contains(&r.member.addr))
        })
        .count()
}

/// Records in which an observer lists again (joined, alive) a member it
/// had recorded failed. Fail-stop: a failed id stays dead, and the process
/// behind it comes back only under a new version.
pub fn resurrections(events: &[EventRecord]) -> Vec<EventRecord> {
    let mut dead = BTreeSet::new();
    let mut wrong = Vec::new();
    for r in events {
        match r.event.as_str() {
            "failed" => {
                dead.insert((r.observer, r.member));
            }
            "joined" | "alive" if dead.contains(&(r.observer, r.member)) => wrong.push(r.clone()),
            _ => {}
        }
    }
    wrong
}

/// Asserts that no failed id came back (see [`resurrections`]).
pub fn assert_dead_stay_dead(cluster: &LocalCluster, since: Mark, label: &str) {
    let wrong = resurrections(&cluster.all_events());
    assert!(
        wrong.is_empty(),
        "{label}: members listed live again after they were recorded failed:\n{}\n{}",
        dump(&wrong),
        diagnosis(cluster, since)
    );
}

/// Every id agent `index` has joined as, oldest first: more than one means
/// it rejoined under a new version.
pub fn versions(cluster: &LocalCluster, index: usize) -> Vec<NodeId> {
    let agent = &cluster.agents[index];
    let mut ids: Vec<NodeId> = agent
        .events()
        .into_iter()
        .filter(|r| r.event == "joined" && r.observer == r.member && r.member.addr == agent.addr)
        .map(|r| r.member)
        .collect();
    ids.sort_by_key(|id| id.version);
    ids.dedup();
    ids
}

/// Rejoins per agent (new versions taken since it started), for those
/// that rejoined at all.
pub fn rejoins(cluster: &LocalCluster) -> BTreeMap<usize, usize> {
    (0..cluster.agents.len())
        .map(|i| (i, versions(cluster, i).len().saturating_sub(1)))
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// Why each agent that rejoined did, from its `agent.log` ("... is over
/// (CAUSE): rejoining as ..."), oldest first; with the rejoin counts this
/// tells a side that yielded by view from one told it was declared failed.
pub fn rejoin_causes(cluster: &LocalCluster) -> BTreeMap<usize, Vec<String>> {
    let mut causes = BTreeMap::new();
    for (i, agent) in cluster.agents.iter().enumerate() {
        let log = std::fs::read_to_string(agent.data_dir.join("agent.log")).unwrap_or_default();
        let found: Vec<String> = log
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once(" is over (")?;
                let (cause, _) = rest.rsplit_once("): rejoining as ")?;
                Some(cause.to_string())
            })
            .collect();
        if !found.is_empty() {
            causes.insert(i, found);
        }
    }
    causes
}

/// The hosts whose id differs between `before` and `after`.
pub fn renewed(before: &BTreeMap<usize, NodeId>, after: &BTreeMap<usize, NodeId>) -> Vec<usize> {
    after
        .iter()
        .filter(|(host, id)| before.get(host) != Some(id))
        .map(|(&host, _)| host)
        .collect()
}

/// For each host of `renewed`, checks that every other agent of `after`
/// recorded its new id `joined` after `since`; returns per host when the
/// last of them did, in ms after `since`.
pub fn new_versions_joined(
    cluster: &LocalCluster,
    after: &BTreeMap<usize, NodeId>,
    renewed: &[usize],
    since: Mark,
) -> Result<BTreeMap<usize, u64>, String> {
    let events = cluster.all_events();
    let mut last = BTreeMap::new();
    for &host in renewed {
        let id = after[&host];
        let observers: BTreeSet<NodeId> = after
            .iter()
            .filter(|&(&h, _)| h != host)
            .map(|(_, &o)| o)
            .collect();
        let seen = first_per_observer(&events, "joined", id, &observers);
        let silent: Vec<String> = observers
            .iter()
            .filter(|o| seen.get(o).is_none_or(|&ts| ts < since.ms))
            .map(|o| o.to_string())
            .collect();
        if !silent.is_empty() {
            return Err(format!(
                "{id} not recorded joined after {} by {}",
                since.ms,
                silent.join(", ")
            ));
        }
        last.insert(
            host,
            since.to(seen.values().copied().max().unwrap_or(since.ms)),
        );
    }
    Ok(last)
}

/// Watches the agents `indices` until `until`, polling: panics as soon as
/// one exits or a `failed` record that `allowed` refuses appears.
pub fn watch_failures(
    lab: &mut NetLab,
    indices: &[usize],
    since: Mark,
    until: Instant,
    label: &str,
    allowed: impl Fn(&EventRecord) -> bool,
) {
    loop {
        if let Err(why) = check_running(&mut lab.cluster, indices) {
            panic!("{label}: {why}\n{}", diagnosis(&lab.cluster, since));
        }
        let wrong: Vec<EventRecord> = lab
            .cluster
            .all_events()
            .into_iter()
            .filter(|r| r.event == "failed" && !allowed(r))
            .collect();
        assert!(
            wrong.is_empty(),
            "{label}: live members declared failed:\n{}\n{}",
            dump(&wrong),
            diagnosis(&lab.cluster, since)
        );
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(250)));
    }
}

/// Every namespace name `ip netns list` shows.
pub fn namespaces() -> Vec<String> {
    must(&["ip", "netns", "list"], None)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Drops the lab and checks that its namespaces went with it.
pub fn finish(lab: NetLab, label: &str) {
    let names = lab.namespaces();
    drop(lab);
    let listed = namespaces();
    let left: Vec<&String> = names.iter().filter(|n| listed.contains(n)).collect();
    assert!(left.is_empty(), "{label}: the lab left {left:?} behind");
}

/// The line of agent `index`'s log saying who admitted it, if `introducer`
/// did; what it says otherwise.
pub fn admitted_by(lab: &NetLab, index: usize, introducer: SocketAddr) -> Result<String, String> {
    let log = std::fs::read_to_string(lab.cluster.agents[index].data_dir.join("agent.log"))
        .unwrap_or_default();
    let admitted: Vec<&str> = log.lines().filter(|l| l.contains("admitted by")).collect();
    match admitted.first() {
        Some(line) if line.contains(&introducer.to_string()) => Ok(line.trim().to_string()),
        _ => Err(format!(
            "admitted by {introducer}? its join lines: {:?}",
            log.lines()
                .filter(|l| l.contains("join") || l.contains("admitted"))
                .collect::<Vec<_>>()
        )),
    }
}

/// The interfaces of `kind` in this process's own network namespace.
pub fn root_links(kind: &str) -> BTreeSet<String> {
    must(&["ip", "-o", "link", "show", "type", kind], None)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_string()))
        .collect()
}
