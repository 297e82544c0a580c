//! Stress without a partition: packet loss on one host, the introducer's
//! host down, a CPU-starved member; and a lab torn down mid-panic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use rumor_daemon::cluster::{first_per_observer, wait_for};
use rumor_daemon::event_log::EventRecord;
use rumor_wire::NodeId;

use crate::fault_kit::*;
use crate::netlab::{NetLab, RUMOR, must};

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
