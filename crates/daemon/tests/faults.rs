//! Faults injected into real agents in network namespaces: partitions both
//! ways and one way, a host cut off, a flapping link, packet loss, a dead
//! introducer and a CPU-starved member, judged from the agents' event logs.
//! Every test prints `skipping: ...` and passes where the lab cannot be made
//! (not root, no nft, ...), and prints what it measured (`--nocapture`
//! shows it). Each lab has its own namespaces and subnet, so the tests run
//! side by side on the harness's threads; most of their time is the faults'
//! own length.

mod netlab;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use netlab::judge::{dump, log_tails, one_full_membership};
use netlab::{NetLab, RUMOR, must};
use rumor_daemon::agent::unix_ms;
use rumor_daemon::cluster::{LocalCluster, first_per_observer, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

/// How long a new lab's agents have to form one membership.
const FORM: Duration = Duration::from_secs(30);
/// How soon after a heal every live agent must hold one full membership.
const HEAL: Duration = Duration::from_secs(10);
/// How long a membership reached after a heal must then hold unchanged: a
/// cluster that splits again moments later has not healed.
const HOLD: Duration = Duration::from_secs(3);
/// The length of the long cuts: far past any failure detection, so both
/// sides have declared the other failed and must rejoin to heal.
const CUT: Duration = Duration::from_secs(15);
/// The crash-detection contract, in ms after the kill: some live member
/// declares the crash within the first, every live member within the second.
const FIRST_DETECTION_MS: u64 = 3_000;
const ALL_DETECTION_MS: u64 = 6_000;
/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(50);
/// The newest events a failure message shows at most.
const SHOWN_EVENTS: usize = 400;
/// Lines of each agent's logs a failure message shows.
const SHOWN_LINES: usize = 25;

/// A moment, as an instant for deadlines and as Unix milliseconds to compare
/// with the events' `ts_ms`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    ms: u64,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            at: Instant::now(),
            ms: unix_ms(),
        }
    }

    /// Milliseconds from this mark to event time `ts_ms` (0 if before it).
    fn to(self, ts_ms: u64) -> u64 {
        ts_ms.saturating_sub(self.ms)
    }

    /// Sleeps until `length` after this mark: for holding a fault for its
    /// set length, never for waiting on something to happen.
    fn sleep_until(self, length: Duration) {
        std::thread::sleep((self.at + length).saturating_duration_since(Instant::now()));
    }
}

/// What a failure message needs to be diagnosed from CI output alone: the
/// events from `since` on (the newest [`SHOWN_EVENTS`]) and the tail of
/// every agent's logs.
fn diagnosis(cluster: &LocalCluster, since: Mark) -> String {
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
fn form(label: &str, hosts: usize, args: &[&str]) -> Option<(NetLab, BTreeMap<usize, NodeId>)> {
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
fn check_running(cluster: &mut LocalCluster, indices: &[usize]) -> Result<(), String> {
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
fn await_membership(
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
fn await_heal(
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
fn addrs(lab: &NetLab, hosts: &[usize]) -> BTreeSet<SocketAddr> {
    hosts.iter().map(|&h| lab.addr(h)).collect()
}

/// The `failed` records, from `from` to `to` (Unix ms), in which an agent
/// at one of `by` declares one at `of` failed. By address, so that every
/// version of an agent counts.
fn failures(
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

/// How many distinct (observer, member) address pairs `records` hold.
fn pairs(records: &[EventRecord]) -> usize {
    records
        .iter()
        .map(|r| (r.observer.addr, r.member.addr))
        .collect::<BTreeSet<_>>()
        .len()
}

/// How many `kind` records from `from` on have a member at one of `of`
/// (every member when `None`).
fn count(
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
fn resurrections(events: &[EventRecord]) -> Vec<EventRecord> {
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
fn assert_dead_stay_dead(cluster: &LocalCluster, since: Mark, label: &str) {
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
fn versions(cluster: &LocalCluster, index: usize) -> Vec<NodeId> {
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
fn rejoins(cluster: &LocalCluster) -> BTreeMap<usize, usize> {
    (0..cluster.agents.len())
        .map(|i| (i, versions(cluster, i).len().saturating_sub(1)))
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// Why each agent that rejoined did, from its `agent.log` ("... is over
/// (CAUSE): rejoining as ..."), oldest first; with the rejoin counts this
/// tells a side that yielded by view from one told it was declared failed.
fn rejoin_causes(cluster: &LocalCluster) -> BTreeMap<usize, Vec<String>> {
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
fn renewed(before: &BTreeMap<usize, NodeId>, after: &BTreeMap<usize, NodeId>) -> Vec<usize> {
    after
        .iter()
        .filter(|(host, id)| before.get(host) != Some(id))
        .map(|(&host, _)| host)
        .collect()
}

/// For each host of `renewed`, checks that every other agent of `after`
/// recorded its new id `joined` after `since`; returns per host when the
/// last of them did, in ms after `since`.
fn new_versions_joined(
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
fn watch_failures(
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
fn namespaces() -> Vec<String> {
    must(&["ip", "netns", "list"], None)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Drops the lab and checks that its namespaces went with it.
fn finish(lab: NetLab, label: &str) {
    let names = lab.namespaces();
    drop(lab);
    let listed = namespaces();
    let left: Vec<&String> = names.iter().filter(|n| listed.contains(n)).collect();
    assert!(left.is_empty(), "{label}: the lab left {left:?} behind");
}

#[test]
fn a_five_five_partition_heals_into_one_membership() {
    five_five_partition_heals("gossip");
}

#[test]
fn a_five_five_partition_heals_into_one_membership_under_swim() {
    five_five_partition_heals("swim");
}

/// Hosts 0-4 and 5-9 cut from each other both ways for [`CUT`]: each side
/// declares the other failed, nobody its own side; after the heal one full
/// membership forms within [`HEAL`], one side under new versions.
fn five_five_partition_heals(detector: &str) {
    let label = format!("5/5 partition ({detector})");
    let Some((mut lab, before)) = form(&label, 10, &["--detector", detector]) else {
        return;
    };
    let all: Vec<usize> = (0..10).collect();
    let (a, b) = (&all[..5], &all[5..]);
    let (side_a, side_b) = (addrs(&lab, a), addrs(&lab, b));

    let cut = Mark::now();
    lab.partition(a, b);
    let (noticed_ab, noticed_ba) = wait_for(CUT, POLL, || {
        let events = lab.cluster.all_events();
        let ab = failures(&events, &side_a, &side_b, cut.ms, u64::MAX);
        let ba = failures(&events, &side_b, &side_a, cut.ms, u64::MAX);
        match (ab.first(), ba.first()) {
            (Some(x), Some(y)) => Ok((cut.to(x.ts_ms), cut.to(y.ts_ms))),
            _ => Err(format!(
                "{} failures of 5-9 declared by 0-4, {} of 0-4 by 5-9",
                ab.len(),
                ba.len()
            )),
        }
    })
    .unwrap_or_else(|why| {
        panic!(
            "{label}: the cut went unnoticed: {why}\n{}",
            diagnosis(&lab.cluster, cut)
        )
    });
    cut.sleep_until(CUT);
    let heal = Mark::now();
    lab.heal();

    let events = lab.cluster.all_events();
    let ab = failures(&events, &side_a, &side_b, cut.ms, heal.ms);
    let ba = failures(&events, &side_b, &side_a, cut.ms, heal.ms);
    let mut own_side = failures(&events, &side_a, &side_a, cut.ms, heal.ms);
    own_side.extend(failures(&events, &side_b, &side_b, cut.ms, heal.ms));
    assert!(
        own_side.is_empty(),
        "{label}: members declared failed by their own side during the cut:\n{}\n{}",
        dump(&own_side),
        diagnosis(&lab.cluster, cut)
    );
    let suspected = count(&events, "suspected", None, cut.ms);

    let (after, took) = await_heal(&mut lab, &all, cut, heal, &label);
    assert_dead_stay_dead(&lab.cluster, cut, &label);
    let renewed = renewed(&before, &after);
    assert!(
        !renewed.is_empty(),
        "{label}: both sides declared the other failed, yet every agent kept its version\n{}",
        diagnosis(&lab.cluster, cut)
    );
    let joined = new_versions_joined(&lab.cluster, &after, &renewed, heal)
        .unwrap_or_else(|why| panic!("{label}: {why}\n{}", diagnosis(&lab.cluster, cut)));
    eprintln!(
        "{label}: cut noticed 0-4 -> 5-9 after {noticed_ab} ms, 5-9 -> 0-4 after {noticed_ba} ms; \
         failed pairs during the cut 0-4 -> 5-9 {}/25, 5-9 -> 0-4 {}/25, {suspected} suspicions; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {renewed:?}, \
         the last recorded joined by all {} ms after the heal; rejoins by host and cause {:?}",
        pairs(&ab),
        pairs(&ba),
        took.as_millis(),
        HOLD.as_secs(),
        joined.values().max().copied().unwrap_or(0),
        rejoin_causes(&lab.cluster)
    );
    finish(lab, &label);
}

/// Packets from hosts 0-4 to 5-9 dropped for [`CUT`], the reverse passing:
/// 5-9 hear nothing from 0-4 and declare them failed while 0-4 still hear
/// 5-9; after the heal one full membership within [`HEAL`].
#[test]
fn a_one_way_partition_heals() {
    let label = "one-way partition";
    let Some((mut lab, before)) = form(label, 10, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..10).collect();
    let (a, b) = (&all[..5], &all[5..]);
    let (side_a, side_b) = (addrs(&lab, a), addrs(&lab, b));

    let cut = Mark::now();
    lab.partition_one_way(a, b);
    let noticed = wait_for(CUT, POLL, || {
        let events = lab.cluster.all_events();
        match failures(&events, &side_b, &side_a, cut.ms, u64::MAX).first() {
            Some(r) => Ok(cut.to(r.ts_ms)),
            None => Err("5-9 declared none of 0-4 failed".to_string()),
        }
    })
    .unwrap_or_else(|why| {
        panic!(
            "{label}: the cut went unnoticed: {why}\n{}",
            diagnosis(&lab.cluster, cut)
        )
    });
    cut.sleep_until(CUT);
    let heal = Mark::now();
    lab.heal();
    let events = lab.cluster.all_events();
    let ba = failures(&events, &side_b, &side_a, cut.ms, heal.ms);
    let ab = failures(&events, &side_a, &side_b, cut.ms, heal.ms);
    let rejoins_in_cut = rejoins(&lab.cluster);

    let (after, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    eprintln!(
        "{label}: 5-9 declared 0-4 failed after {noticed} ms; failed pairs during the cut \
         5-9 -> 0-4 {}/25, 0-4 -> 5-9 {}/25; rejoins per host during the cut {rejoins_in_cut:?}; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {:?}; \
         rejoins by host and cause {:?}",
        pairs(&ba),
        pairs(&ab),
        took.as_millis(),
        HOLD.as_secs(),
        renewed(&before, &after),
        rejoin_causes(&lab.cluster)
    );
    finish(lab, label);
}

/// One host cut off from the rest for [`CUT`]: after the heal one full
/// membership within [`HEAL`], in which only the lone host took a new
/// version (the smaller view yields). Then a 2 s cut of another host: once
/// enough to split a cluster for good; it must heal just the same.
#[test]
fn one_host_cut_off_rejoins() {
    let label = "one host cut off";
    let Some((mut lab, before)) = form(label, 6, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..6).collect();
    let lone = 5;
    let (its, rest) = (addrs(&lab, &[lone]), addrs(&lab, &all[..lone]));

    let cut = Mark::now();
    lab.isolate(lone);
    let (noticed_by_rest, noticed_by_lone) = wait_for(CUT, POLL, || {
        let events = lab.cluster.all_events();
        let of_it = failures(&events, &rest, &its, cut.ms, u64::MAX);
        let by_it = failures(&events, &its, &rest, cut.ms, u64::MAX);
        match (of_it.first(), by_it.first()) {
            (Some(x), Some(y)) => Ok((cut.to(x.ts_ms), cut.to(y.ts_ms))),
            _ => Err(format!(
                "{} failures of host {lone} declared by the rest, {} by host {lone}",
                of_it.len(),
                by_it.len()
            )),
        }
    })
    .unwrap_or_else(|why| {
        panic!(
            "{label}: the cut went unnoticed: {why}\n{}",
            diagnosis(&lab.cluster, cut)
        )
    });
    cut.sleep_until(CUT);
    let heal = Mark::now();
    lab.heal();
    let (after, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    let took_new = renewed(&before, &after);
    assert_eq!(
        took_new,
        [lone],
        "{label}: hosts with a new version after a {} s cut of host {lone}\nbefore {before:?}\nafter {after:?}\n{}",
        CUT.as_secs(),
        diagnosis(&lab.cluster, cut)
    );
    eprintln!(
        "{label} for {} s: host {lone} declared failed after {noticed_by_rest} ms, it declared \
         the others failed after {noticed_by_lone} ms; one full membership {} ms after the heal \
         (held {} s); new versions on hosts {took_new:?}",
        CUT.as_secs(),
        took.as_millis(),
        HOLD.as_secs()
    );

    let short = Duration::from_secs(2);
    let brief = 0;
    let cut = Mark::now();
    lab.isolate(brief);
    cut.sleep_until(short);
    let heal = Mark::now();
    lab.heal();
    let (again, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    let events = lab.cluster.all_events();
    eprintln!(
        "{label} for {} s (host {brief}): {} suspicions, {} failed records from the cut on; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {:?}",
        short.as_secs(),
        count(&events, "suspected", None, cut.ms),
        count(&events, "failed", None, cut.ms),
        took.as_millis(),
        HOLD.as_secs(),
        renewed(&after, &again)
    );
    finish(lab, label);
}

/// One host's link cut for 10 s and restored for 5 s, three times: after
/// the last heal one full membership within [`HEAL`], every agent running.
#[test]
fn a_flapping_link_ends_in_one_membership() {
    let label = "flapping link";
    let Some((mut lab, _)) = form(label, 6, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..6).collect();
    let flapper = 3;
    let others: Vec<usize> = all.iter().copied().filter(|&h| h != flapper).collect();
    let (its, rest) = (addrs(&lab, &[flapper]), addrs(&lab, &others));
    let (down, up) = (Duration::from_secs(10), Duration::from_secs(5));
    let first = Mark::now();
    for round in 1..=3 {
        let cut = Mark::now();
        lab.isolate(flapper);
        cut.sleep_until(down);
        let heal = Mark::now();
        lab.heal();
        let events = lab.cluster.all_events();
        let of_it = failures(&events, &rest, &its, cut.ms, heal.ms);
        let by_it = failures(&events, &its, &rest, cut.ms, heal.ms);
        if round < 3 {
            // Five seconds up may be too short to heal, by design; what the
            // cluster reaches in them is shown, not judged.
            let whole = wait_for(up, Duration::from_millis(100), || {
                one_full_membership(&mut lab.cluster, &all)
            });
            let state = match whole {
                Ok(_) => format!("whole again after {} ms", heal.at.elapsed().as_millis()),
                Err(why) => format!("not whole within {} s ({why})", up.as_secs()),
            };
            eprintln!(
                "{label}, cut {round}: host {flapper} declared failed by {} others, it declared {}; {state}",
                pairs(&of_it),
                pairs(&by_it)
            );
            heal.sleep_until(up);
        } else {
            let (_, took) = await_heal(&mut lab, &all, cut, heal, label);
            eprintln!(
                "{label}, cut {round}: host {flapper} declared failed by {} others, it declared {}; \
                 one full membership {} ms after the last heal (held {} s); rejoins by host and cause {:?}",
                pairs(&of_it),
                pairs(&by_it),
                took.as_millis(),
                HOLD.as_secs(),
                rejoin_causes(&lab.cluster)
            );
        }
    }
    if let Err(why) = check_running(&mut lab.cluster, &all) {
        panic!("{label}: {why}\n{}", diagnosis(&lab.cluster, first));
    }
    assert_dead_stay_dead(&lab.cluster, first, label);
    finish(lab, label);
}

/// 20 % of the packets to and from one host dropped for a minute: nobody
/// is declared failed but the agent crashed meanwhile on another host, and
/// that crash is still declared within the contract.
#[test]
fn twenty_percent_loss_on_one_host_is_no_failure() {
    let label = "20 % loss on one host";
    let Some((mut lab, ids)) = form(label, 10, &[]) else {
        return;
    };
    let (lossy, victim) = (7, 4);
    let (lossy_for, kill_after) = (Duration::from_secs(60), Duration::from_secs(20));
    let all: Vec<usize> = (0..10).collect();
    let live: Vec<usize> = all.iter().copied().filter(|&h| h != victim).collect();
    let others: Vec<usize> = all.iter().copied().filter(|&h| h != lossy).collect();
    let dead = ids[&victim];

    let start = Mark::now();
    lab.loss(lossy, 20);
    watch_failures(&mut lab, &all, start, start.at + kill_after, label, |_| {
        false
    });
    let killed_at = lab.cluster.kill(victim);
    let observers: BTreeSet<NodeId> = live.iter().map(|h| ids[h]).collect();
    let complete = wait_for(
        Duration::from_millis(ALL_DETECTION_MS + 4_000),
        POLL,
        || {
            let seen = first_per_observer(&lab.cluster.all_events(), "failed", dead, &observers);
            if seen.len() == observers.len() {
                Ok(seen)
            } else {
                Err(format!("{} of {} observers", seen.len(), observers.len()))
            }
        },
    );
    let seen = complete.unwrap_or_else(|why| {
        panic!(
            "{label}: the crash of {dead} (killed at {killed_at}) was not declared by every live member: {why}\n{}",
            diagnosis(&lab.cluster, start)
        )
    });
    let delays: BTreeMap<usize, u64> = live
        .iter()
        .map(|h| (*h, seen[&ids[h]].saturating_sub(killed_at)))
        .collect();
    let (first, last) = (
        *delays.values().min().expect("observers"),
        *delays.values().max().expect("observers"),
    );
    assert!(
        first <= FIRST_DETECTION_MS && last <= ALL_DETECTION_MS,
        "{label}: crash of host {victim} declared first after {first} ms (<= {FIRST_DETECTION_MS}), \
         by all after {last} ms (<= {ALL_DETECTION_MS}); per host {delays:?}\n{}",
        diagnosis(&lab.cluster, start)
    );
    watch_failures(&mut lab, &live, start, start.at + lossy_for, label, |r| {
        r.member == dead
    });
    lab.clear_loss(lossy);

    let (now, _) = await_membership(
        &mut lab,
        &live,
        Mark::now(),
        HEAL,
        start,
        label,
        "after the loss",
    );
    let kept: BTreeMap<usize, NodeId> = live.iter().map(|h| (*h, ids[h])).collect();
    assert_eq!(
        now,
        kept,
        "{label}: agents took new versions under loss\n{}",
        diagnosis(&lab.cluster, start)
    );
    let events = lab.cluster.all_events();
    eprintln!(
        "{label}: {} s of 20 % loss on host {lossy}: 0 false failures; {} suspicions of host {lossy}, \
         {} of the others (the crashed one included); crash of host {victim} declared first after \
         {first} ms, by all after {last} ms, by the lossy host after {} ms; per host {delays:?}",
        lossy_for.as_secs(),
        count(&events, "suspected", Some(&addrs(&lab, &[lossy])), start.ms),
        count(&events, "suspected", Some(&addrs(&lab, &others)), start.ms),
        delays[&lossy]
    );
    finish(lab, label);
}

/// The line of agent `index`'s log saying who admitted it, if `introducer`
/// did; what it says otherwise.
fn admitted_by(lab: &NetLab, index: usize, introducer: SocketAddr) -> Result<String, String> {
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

/// A cluster formed through host 0, every later agent listing hosts 0 and
/// 1 as introducers. With host 0 cut off (its agent alive, requests
/// unanswered) and later dead (requests refused), new agents listing the
/// same two join through host 1, and every live agent lists them.
#[test]
fn the_introducer_down_new_nodes_join_through_another_listed_member() {
    let label = "introducer down";
    let Some(mut lab) = NetLab::or_skip(8) else {
        return;
    };
    let join = Duration::from_secs(15);
    let start = Mark::now();
    lab.start_agent(0, &[], &[]);
    for host in 1..6 {
        // Host 1 lists itself too: an agent skips its own address.
        lab.start_agent(host, &[0, 1], &[]);
    }
    let first: Vec<usize> = (0..6).collect();
    let (ids, took) = await_membership(&mut lab, &first, start, FORM, start, label, "forming");
    eprintln!(
        "{label}: 6 agents formed one membership in {} ms",
        took.as_millis()
    );
    let introducer = lab.addr(1);

    let cut = Mark::now();
    lab.isolate(0);
    lab.start_agent(6, &[0, 1], &[]);
    let members: Vec<usize> = (1..=6).collect();
    let (_, cut_took) = await_membership(
        &mut lab,
        &members,
        cut,
        join,
        cut,
        label,
        "host 6 joining while host 0 is cut off",
    );
    let cut_line = admitted_by(&lab, 6, introducer)
        .unwrap_or_else(|why| panic!("{label}: host 6: {why}\n{}", diagnosis(&lab.cluster, cut)));

    lab.cluster.kill(0);
    lab.heal();
    let later = Mark::now();
    lab.start_agent(7, &[0, 1], &[]);
    let members: Vec<usize> = (1..=7).collect();
    let (now, dead_took) = await_membership(
        &mut lab,
        &members,
        later,
        join,
        cut,
        label,
        "host 7 joining while host 0 is dead",
    );
    let dead_line = admitted_by(&lab, 7, introducer)
        .unwrap_or_else(|why| panic!("{label}: host 7: {why}\n{}", diagnosis(&lab.cluster, cut)));
    let kept: Vec<usize> = (1..6).filter(|h| now[h] != ids[h]).collect();
    assert!(
        kept.is_empty(),
        "{label}: hosts {kept:?} took new versions though only host 0 went down\n{}",
        diagnosis(&lab.cluster, cut)
    );
    eprintln!(
        "{label}: with host 0 cut off, host 6 listed by all {} ms after it started ({cut_line}); \
         with host 0 dead, host 7 after {} ms ({dead_line})",
        cut_took.as_millis(),
        dead_took.as_millis()
    );
    finish(lab, label);
}

#[test]
fn a_cpu_starved_member_is_not_declared_failed() {
    cpu_starved(None);
}

#[test]
fn a_cpu_starved_member_is_not_declared_failed_under_swim() {
    cpu_starved(Some("swim"));
}

/// One agent of ten frozen (SIGSTOP) for 400 ms every 1.5 s for 45 s, then
/// for 1.2 s every 3 s for 45 s, both within the suspicion budget: no
/// `failed` record at all, nobody takes a new version. With `detector`, or
/// the default one.
fn cpu_starved(detector: Option<&str>) {
    let label = format!(
        "CPU-starved member ({})",
        detector.unwrap_or("default detector")
    );
    let args: Vec<&str> = detector.map(|d| vec!["--detector", d]).unwrap_or_default();
    let Some((mut lab, ids)) = form(&label, 10, &args) else {
        return;
    };
    let all: Vec<usize> = (0..10).collect();
    let starved = 6;
    let (its, rest) = (
        addrs(&lab, &[starved]),
        addrs(
            &lab,
            &all.iter()
                .copied()
                .filter(|&h| h != starved)
                .collect::<Vec<_>>(),
        ),
    );
    let total = Duration::from_secs(45);
    // A suspicion raised in the last pause has the budget's length to turn
    // into a failure after the pattern ends.
    let after = Duration::from_secs(2);
    for (stop, every) in [
        (Duration::from_millis(400), Duration::from_millis(1500)),
        (Duration::from_millis(1200), Duration::from_millis(3000)),
    ] {
        let pattern = format!(
            "{label}, {} ms every {} ms",
            stop.as_millis(),
            every.as_millis()
        );
        let start = Mark::now();
        lab.pause_pattern(starved, stop, every, total);
        watch_failures(
            &mut lab,
            &all,
            start,
            start.at + total + after,
            &pattern,
            |_| false,
        );
        lab.wait_pauses();
        let (now, _) = await_membership(
            &mut lab,
            &all,
            Mark::now(),
            HEAL,
            start,
            &pattern,
            "after the pauses",
        );
        assert_eq!(
            now,
            ids,
            "{pattern}: agents took new versions\n{}",
            diagnosis(&lab.cluster, start)
        );
        let events = lab.cluster.all_events();
        let of_it: Vec<&EventRecord> = events
            .iter()
            .filter(|r| {
                r.event == "suspected" && r.ts_ms >= start.ms && its.contains(&r.member.addr)
            })
            .collect();
        let observers: BTreeSet<SocketAddr> = of_it.iter().map(|r| r.observer.addr).collect();
        let by_it = events
            .iter()
            .filter(|r| {
                r.event == "suspected"
                    && r.ts_ms >= start.ms
                    && its.contains(&r.observer.addr)
                    && rest.contains(&r.member.addr)
            })
            .count();
        eprintln!(
            "{pattern} for {} s: 0 failed records; {} suspicions of the starved member (by {} of 9 \
             others), {by_it} by it of others, {} in all",
            total.as_secs(),
            of_it.len(),
            observers.len(),
            count(&events, "suspected", None, start.ms)
        );
    }
    finish(lab, &label);
}

/// The interfaces of `kind` in this process's own network namespace.
fn root_links(kind: &str) -> BTreeSet<String> {
    must(&["ip", "-o", "link", "show", "type", kind], None)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_string()))
        .collect()
}

/// A lab torn down while a test panics, with a partition, loss and a frozen
/// agent in place, leaves no namespace, bridge, veth, nft table or agent;
/// so does every lab above, each checked by [`finish`].
#[test]
fn teardown_leaves_nothing() {
    let (bridges, veths) = (root_links("bridge"), root_links("veth"));
    let Some(mut lab) = NetLab::or_skip(3) else {
        return;
    };
    let names = lab.namespaces();
    let agents = lab.start_all(&[]);
    let pids: Vec<u32> = agents
        .iter()
        .filter_map(|&i| lab.cluster.agents[i].pid())
        .collect();
    let data = lab.cluster.root().to_owned();
    lab.partition_one_way(&[0], &[1]);
    lab.loss(2, 50);
    lab.pause_pattern(
        1,
        Duration::from_secs(2),
        Duration::from_secs(3),
        Duration::from_secs(60),
    );
    let body = catch_unwind(AssertUnwindSafe(move || {
        let _lab = lab;
        panic!("a deliberate panic with faults in place");
    }));
    assert!(body.is_err());

    let listed = namespaces();
    let left: Vec<&String> = names.iter().filter(|n| listed.contains(n)).collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    assert_eq!(NetLab::leftovers(), Vec::<String>::new());
    let rumor = std::fs::canonicalize(RUMOR).ok();
    let survivors: Vec<u32> = pids
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == rumor)
        .collect();
    assert!(
        survivors.is_empty(),
        "agents survived their lab: {survivors:?}"
    );
    assert!(!data.exists(), "{} survived its lab", data.display());
    assert_eq!(
        root_links("bridge"),
        bridges,
        "bridges changed outside the labs"
    );
    assert_eq!(root_links("veth"), veths, "veths changed outside the labs");
    let tables = must(&["nft", "list", "tables"], None);
    assert!(
        !tables.contains("rumorlab"),
        "a lab's nft table outside its namespace:\n{tables}"
    );
}
