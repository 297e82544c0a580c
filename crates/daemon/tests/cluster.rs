//! Real agent processes on loopback: joins, crashes, leaves and restarts,
//! judged from the agents' events.jsonl.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{addr, assert_detected, assert_no_false_positive, await_all_see_all, dump, form};
use rumor_daemon::cluster::{first_per_observer, wait_for};
use rumor_wire::NodeId;

/// One ten-agent cluster on the default detector, reused for several checks
/// in sequence: all see all; one crash; the crashed address restarted as a
/// new version; a graceful leave; then five crashes at once.
#[test]
fn ten_agents_default_detector_join_crash_restart_leave_and_mass_crash() {
    let (net, port) = (31, 7031);
    let (mut cluster, ids) = form(net, port, 10, &[]);
    let mut crashed: BTreeSet<NodeId> = BTreeSet::new();

    // One crash.
    let victim = 3;
    let killed_at = cluster.kill(victim);
    crashed.insert(ids[&victim]);
    let observers: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| **i != victim)
        .map(|(_, id)| *id)
        .collect();
    let (first, last) = assert_detected(&cluster, &[ids[&victim]], &observers, killed_at);
    eprintln!("one crash: first detection {first} ms, all {last} ms");

    // The crashed address comes back: a new version, seen by everyone.
    cluster
        .restart(victim, Some(&[addr(net, 5, port), addr(net, 6, port)]))
        .unwrap();
    let all: Vec<usize> = (0..10).collect();
    let ids = await_all_see_all(&mut cluster, &all);
    let reborn = ids[&victim];
    let old = *crashed.iter().next().unwrap();
    assert_eq!(reborn.addr, old.addr);
    assert!(
        reborn.version > old.version,
        "{reborn} is not newer than {old}"
    );

    // A graceful leave: recorded as left by everyone, never failed.
    let leaver = 8;
    let leaver_id = ids[&leaver];
    cluster.signal_leave(leaver);
    let status = cluster
        .reap(leaver, Duration::from_secs(10))
        .expect("the leaver exits by itself");
    assert!(status.success(), "leaving agent exited with {status}");
    let stay: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| **i != leaver)
        .map(|(_, id)| *id)
        .collect();
    let left = wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let seen = first_per_observer(&cluster.all_events(), "left", leaver_id, &stay);
        if seen.len() == stay.len() {
            Ok(())
        } else {
            Err(format!("{} of {}", seen.len(), stay.len()))
        }
    });
    let about_leaver: Vec<_> = cluster
        .all_events()
        .into_iter()
        .filter(|r| r.member == leaver_id)
        .collect();
    assert!(
        left.is_ok(),
        "leave not recorded everywhere: {left:?}\n{}",
        dump(&about_leaver)
    );
    assert!(
        about_leaver.iter().all(|r| r.event != "failed"),
        "a graceful leave was recorded as a failure:\n{}",
        dump(&about_leaver)
    );

    // Five crashes at once, among them the restarted agent and the introducer.
    let victims = [0usize, 2, 3, 5, 7];
    let killed_at = victims.iter().map(|&v| cluster.kill(v)).min().unwrap();
    let victim_ids: Vec<NodeId> = victims.iter().map(|v| ids[v]).collect();
    crashed.extend(victim_ids.iter().copied());
    let observers: BTreeSet<NodeId> = [1usize, 4, 6, 9].iter().map(|i| ids[i]).collect();
    let (first, last) = assert_detected(&cluster, &victim_ids, &observers, killed_at);
    eprintln!("five crashes: first detection {first} ms, all {last} ms");

    assert_no_false_positive(&cluster, &crashed);
}

/// 10 % receiver-side drop on every agent, one crash, and at least 60 s in
/// which no live member may be marked failed.
#[test]
fn ten_percent_drop_one_crash_no_false_positive_for_a_minute() {
    let (net, port) = (32, 7032);
    let started = std::time::Instant::now();
    let (mut cluster, ids) = form(net, port, 10, &["--drop-rate", "0.1"]);
    std::thread::sleep(Duration::from_secs(5));
    let victim = 6;
    let killed_at = cluster.kill(victim);
    let observers: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| **i != victim)
        .map(|(_, id)| *id)
        .collect();
    let (first, last) = assert_detected(&cluster, &[ids[&victim]], &observers, killed_at);
    eprintln!("10 % drop: first detection {first} ms, all {last} ms");
    // The rest of the minute, checking as we go so a false positive fails early.
    let crashed = BTreeSet::from([ids[&victim]]);
    while started.elapsed() < Duration::from_secs(62) {
        std::thread::sleep(Duration::from_secs(2));
        assert_no_false_positive(&cluster, &crashed);
        for i in (0..10).filter(|&i| i != victim) {
            assert!(cluster.is_running(i), "agent {i} exited");
        }
    }
    assert_no_false_positive(&cluster, &crashed);
    // The drop layer really dropped about a tenth: the minute's counter line.
    // Every kind the agents send over UDP (anti-entropy digests among them)
    // is one they take: none was dropped as a wrong kind.
    let log = cluster.agents[0].data_dir.join("agent.log");
    let (received, dropped, wrong_kind) =
        wait_for(Duration::from_secs(15), Duration::from_millis(100), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let line = text
                .lines()
                .find(|l| l.contains("stats: "))
                .ok_or("no stats line yet")?;
            let number = |after: &str| -> Option<f64> {
                line.split(after).nth(1)?.split(' ').next()?.parse().ok()
            };
            let wrong_kind = line
                .split(" wrong kind")
                .next()
                .and_then(|head| head.rsplit(' ').next()?.parse::<u64>().ok());
            match (number("datagrams in "), number("(dropped: "), wrong_kind) {
                (Some(received), Some(dropped), Some(wrong)) => Ok((received, dropped, wrong)),
                _ => Err(format!("unparsable stats line: {line}")),
            }
        })
        .unwrap();
    assert_eq!(
        wrong_kind, 0,
        "datagrams dropped as of a kind not taken over UDP"
    );
    let rate = dropped / (received + dropped);
    assert!(
        (0.05..0.15).contains(&rate),
        "drop rate {rate}: {dropped} of {}",
        received + dropped
    );
}

/// The crash cases with the swim detector: one crash (and its removal after
/// `--t-delete`), then five at once.
#[test]
fn ten_agents_swim_one_crash_then_five_at_once() {
    let (net, port) = (37, 7037);
    let (mut cluster, ids) = form(net, port, 10, &["--detector", "swim", "--t-delete", "2s"]);
    let mut crashed = BTreeSet::new();

    let victim = 4;
    let killed_at = cluster.kill(victim);
    crashed.insert(ids[&victim]);
    let observers: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| **i != victim)
        .map(|(_, id)| *id)
        .collect();
    let (first, last) = assert_detected(&cluster, &[ids[&victim]], &observers, killed_at);
    eprintln!("swim, one crash: first detection {first} ms, all {last} ms");
    // --t-delete 2s: the failed member is then removed from every list.
    wait_for(Duration::from_secs(15), Duration::from_millis(50), || {
        let removed =
            first_per_observer(&cluster.all_events(), "removed", ids[&victim], &observers);
        if removed.len() == observers.len() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} removed it",
                removed.len(),
                observers.len()
            ))
        }
    })
    .unwrap_or_else(|why| panic!("{why}\n{}", dump(&cluster.all_events())));

    let victims = [0usize, 1, 5, 6, 8];
    let killed_at = victims.iter().map(|&v| cluster.kill(v)).min().unwrap();
    let victim_ids: Vec<NodeId> = victims.iter().map(|v| ids[v]).collect();
    crashed.extend(victim_ids.iter().copied());
    let observers: BTreeSet<NodeId> = [2usize, 3, 7, 9].iter().map(|i| ids[i]).collect();
    let (first, last) = assert_detected(&cluster, &victim_ids, &observers, killed_at);
    eprintln!("swim, five crashes: first detection {first} ms, all {last} ms");

    assert_no_false_positive(&cluster, &crashed);
}

/// `--keyring`: agents sharing a keyring form a cluster over sealed
/// datagrams and sealed joins; an agent with another keyring, or with
/// none, is never admitted and gives up; forged datagrams are counted and
/// dropped; key holders never suspect each other.
#[test]
fn a_keyring_admits_only_key_holders() {
    let (net, port) = (38, 7038);
    let dir = tempfile::tempdir().unwrap();
    let keyring = common::keyring_file(dir.path(), "cluster.keys", 1);
    let other = common::keyring_file(dir.path(), "other.keys", 1);
    let (mut cluster, ids) = form(net, port, 3, &["--keyring", keyring.to_str().unwrap()]);
    let introducer = addr(net, 0, port);

    let with_other_key = cluster
        .add(
            "other-key",
            addr(net, 3, port),
            &[introducer],
            &["--keyring", other.to_str().unwrap(), "--join-timeout", "2s"],
        )
        .unwrap();
    let without_key = cluster
        .add(
            "no-key",
            addr(net, 4, port),
            &[introducer],
            &["--join-timeout", "2s"],
        )
        .unwrap();
    // Forged gossip at the introducer's UDP port.
    let udp = std::net::UdpSocket::bind(addr(net, 9, port)).unwrap();
    for i in 0..20u8 {
        udp.send_to(
            &[0x93, 2, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            introducer,
        )
        .unwrap();
    }
    for outsider in [with_other_key, without_key] {
        let status = cluster
            .reap(outsider, Duration::from_secs(20))
            .expect("a refused agent gives up by itself");
        assert!(
            !status.success(),
            "{} joined",
            cluster.agents[outsider].name
        );
        let stderr =
            std::fs::read_to_string(cluster.agents[outsider].data_dir.join("stderr.log")).unwrap();
        assert!(stderr.contains("cannot join the cluster"), "{stderr}");
    }
    let keyed: BTreeSet<NodeId> = ids.values().copied().collect();
    let events = cluster.all_events();
    for r in events.iter().filter(|r| keyed.contains(&r.observer)) {
        assert!(
            keyed.contains(&r.member),
            "a key holder listed an outsider:\n{}",
            dump(&events)
        );
        assert!(
            !matches!(r.event.as_str(), "suspected" | "failed"),
            "a key holder was suspected:\n{}",
            dump(&events)
        );
    }

    cluster.signal_leave(0);
    cluster
        .reap(0, Duration::from_secs(10))
        .expect("agent 0 exits after SIGTERM");
    let log = std::fs::read_to_string(cluster.agents[0].data_dir.join("agent.log")).unwrap();
    let unauthenticated: u64 = log
        .rsplit("dropped by --drop-rate, ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter summary in agent.log:\n{log}"));
    assert!(unauthenticated >= 20, "{log}");
    assert!(log.contains("unauthenticated: "), "{log}");
}

/// Fail-stop: an agent frozen long enough to be declared failed learns it on
/// waking, starts over as a new version and rejoins through the members it
/// knew; everyone then lists the new version.
#[test]
fn a_paused_agent_declared_failed_rejoins_as_a_new_version() {
    let (net, port) = (39, 7039);
    let (mut cluster, ids) = form(net, port, 4, &[]);
    let sleeper = 2;
    let old = ids[&sleeper];
    let paused_at = rumor_daemon::agent::unix_ms();
    cluster.pause(sleeper);
    let observers: BTreeSet<NodeId> = ids
        .iter()
        .filter(|(i, _)| **i != sleeper)
        .map(|(_, id)| *id)
        .collect();
    assert_detected(&cluster, &[old], &observers, paused_at);
    cluster.resume(sleeper);
    let all: Vec<usize> = (0..4).collect();
    let now = wait_for(Duration::from_secs(20), Duration::from_millis(50), || {
        let ids = cluster.all_see_all(&all)?;
        if ids[&sleeper] == old {
            Err(format!("{old} has not rejoined yet"))
        } else {
            Ok(ids)
        }
    })
    .unwrap_or_else(|why| panic!("{why}\n{}", dump(&cluster.all_events())));
    assert_eq!(now[&sleeper].addr, old.addr);
    assert!(now[&sleeper].version > old.version);
    assert!(
        cluster.is_running(sleeper),
        "the rejoined agent keeps running"
    );
}
