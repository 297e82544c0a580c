//! The network lab itself: agents form a cluster across namespaces, the
//! nftables faults cut exactly what they say, and a lab leaves nothing
//! behind. Each test prints `skipping: ...` and passes where namespaces
//! cannot be made (not root, no nft, ...).

mod netlab;

use std::os::unix::fs::MetadataExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlab::judge::{await_one_full_membership, declared_failed, dump};
use netlab::{NetLab, PREFIX, RUMOR, must};
use rumor_daemon::cluster::wait_for;
use rumor_wire::NodeId;

/// Every namespace name `ip netns list` shows.
fn namespaces() -> Vec<String> {
    must(&["ip", "netns", "list"], None)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// The scheduler state letter of process `pid` (`T` when stopped).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Whether process `pid` is a `rumor` agent.
fn is_rumor(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    exe.is_some() && exe == std::fs::canonicalize(RUMOR).ok()
}

#[test]
fn four_hosts_form_one_cluster_and_a_pause_pattern_thaws() {
    let Some(mut lab) = NetLab::or_skip(4) else {
        return;
    };
    let agents = lab.start_all(&[]);
    let ids = await_one_full_membership(&mut lab.cluster, &agents, Duration::from_secs(30));
    for host in 0..4 {
        let index = lab.agent(host);
        assert_eq!(ids[&index].addr, lab.addr(host));
        // `ip netns exec` execs: the child is the agent, inside its host.
        let pid = lab.cluster.agents[index].pid().expect("running");
        assert!(is_rumor(pid), "pid {pid} is not the agent");
        let inside = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .unwrap()
            .ino();
        let host_ns = std::fs::metadata(Path::new("/run/netns").join(lab.ns(host)));
        assert_eq!(
            inside,
            host_ns.unwrap().ino(),
            "agent {host} outside {}",
            lab.ns(host)
        );
    }

    let pid = lab.cluster.agents[lab.agent(3)].pid().expect("running");
    lab.pause_pattern(
        3,
        Duration::from_millis(200),
        Duration::from_millis(400),
        Duration::from_millis(1200),
    );
    wait_for(
        Duration::from_secs(2),
        Duration::from_millis(5),
        || match state(pid) {
            Some('T') => Ok(()),
            other => Err(format!("agent 3 in state {other:?}, never stopped")),
        },
    )
    .unwrap();
    lab.wait_pauses();
    assert_ne!(state(pid), Some('T'), "agent 3 left stopped");
    assert!(lab.cluster.is_running(lab.agent(3)));
}

#[test]
fn a_two_way_partition_splits_the_cluster_and_heal_lets_traffic_pass() {
    let Some(mut lab) = NetLab::or_skip(4) else {
        return;
    };
    let agents = lab.start_all(&[]);
    let ids = await_one_full_membership(&mut lab.cluster, &agents, Duration::from_secs(30));
    let side =
        |hosts: &[usize]| -> Vec<NodeId> { hosts.iter().map(|&h| ids[&lab.agent(h)]).collect() };
    let (a, b) = (side(&[0, 1]), side(&[2, 3]));

    lab.partition(&[0, 1], &[2, 3]);
    wait_for(Duration::from_secs(20), Duration::from_millis(100), || {
        declared_failed(&lab.cluster, &a, &b)?;
        declared_failed(&lab.cluster, &b, &a)
    })
    .unwrap_or_else(|why| panic!("{why}\n{}", dump(&lab.cluster.all_events())));
    let events = lab.cluster.all_events();
    let same_side = |r: &rumor_daemon::event_log::EventRecord| {
        (a.contains(&r.observer) && a.contains(&r.member))
            || (b.contains(&r.observer) && b.contains(&r.member))
    };
    let wrong: Vec<_> = events
        .into_iter()
        .filter(|r| r.event == "failed" && same_side(r))
        .collect();
    assert!(wrong.is_empty(), "failed within a side:\n{}", dump(&wrong));
    assert!(!lab.udp_reaches(0, 2), "0 -> 2 passes the partition");
    assert!(!lab.udp_reaches(3, 1), "3 -> 1 passes the partition");
    assert!(lab.udp_reaches(0, 1), "0 -> 1 is cut within a side");

    lab.heal();
    assert!(lab.udp_reaches(0, 2), "0 -> 2 still cut after heal");
    assert!(lab.udp_reaches(3, 1), "3 -> 1 still cut after heal");
}

#[test]
fn loss_one_way_partitions_and_isolation_cut_what_they_say() {
    let Some(mut lab) = NetLab::or_skip(3) else {
        return;
    };
    assert!(
        lab.udp_reaches(0, 2) && lab.udp_reaches(2, 0),
        "no traffic at the start"
    );

    lab.loss(2, 100);
    assert!(!lab.udp_reaches(0, 2), "0 -> 2 passes total loss");
    assert!(!lab.udp_reaches(2, 0), "2 -> 0 passes total loss");
    assert!(lab.udp_reaches(0, 1), "0 -> 1 cut by 2's loss");
    lab.clear_loss(2);
    assert!(
        lab.udp_reaches(0, 2) && lab.udp_reaches(2, 0),
        "loss not cleared"
    );

    lab.loss(1, 30);
    let listing = lab.rules_listing(1);
    assert!(listing.contains("numgen random mod 100 < 30"), "{listing}");
    lab.clear_loss(1);

    lab.partition_one_way(&[0], &[1]);
    assert!(!lab.udp_reaches(0, 1), "0 -> 1 passes a one-way cut");
    assert!(lab.udp_reaches(1, 0), "1 -> 0 cut by the 0 -> 1 cut");
    lab.heal();
    assert!(lab.udp_reaches(0, 1), "0 -> 1 still cut after heal");

    lab.isolate(2);
    assert!(
        !lab.udp_reaches(2, 0) && !lab.udp_reaches(1, 2),
        "2 not isolated"
    );
    assert!(lab.udp_reaches(0, 1), "isolating 2 cut 0 -> 1");
    lab.heal();
    assert!(lab.udp_reaches(1, 2), "1 -> 2 still cut after heal");
}

/// Deletes a namespace when dropped, so a failed check leaves none.
struct Scratch(String);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = netlab::run(&["ip", "netns", "del", &self.0], None);
    }
}

#[test]
fn a_lab_leaves_nothing_behind_even_when_the_test_panics() {
    let Some(mut lab) = NetLab::or_skip(2) else {
        return;
    };
    let names = lab.namespaces();
    let inside = names.clone();
    let index = lab.start_agent(0, &[], &[]);
    let pid = lab.cluster.agents[index].pid().expect("running");
    let data: PathBuf = lab.cluster.root().to_owned();
    let body = catch_unwind(AssertUnwindSafe(move || {
        let _lab = lab;
        let listed = namespaces();
        assert!(
            inside.iter().all(|n| listed.contains(n)),
            "{inside:?} not in {listed:?}"
        );
        panic!("a deliberate panic while the lab exists");
    }));
    assert!(body.is_err());
    assert_eq!(NetLab::leftovers(), Vec::<String>::new());
    let listed = namespaces();
    assert!(
        names.iter().all(|n| !listed.contains(n)),
        "lab namespaces left: {listed:?}"
    );
    assert!(!is_rumor(pid), "the agent survived its lab");
    assert!(!data.exists(), "{} survived its lab", data.display());

    // A name of an ended process is swept by the next lab; a name that only
    // looks alike is not. No process has a pid above the kernel's maximum.
    let stale = Scratch(format!("{PREFIX}999999999n0h0"));
    let foreign = Scratch(format!("{PREFIX}999999999n0hx"));
    must(&["ip", "netns", "add", &stale.0], None);
    must(&["ip", "netns", "add", &foreign.0], None);
    let seen = NetLab::leftovers();
    // A lab made meanwhile by a test in another thread sweeps it too.
    let swept_already = seen.is_empty() && !namespaces().contains(&stale.0);
    assert!(
        seen == [stale.0.clone()] || swept_already,
        "leftovers {seen:?}, not [{}]",
        stale.0
    );
    let lab = NetLab::new(1).expect("a second lab");
    let listed = namespaces();
    assert!(!listed.contains(&stale.0), "stale {} survived", stale.0);
    assert!(
        listed.contains(&foreign.0),
        "foreign {} was deleted",
        foreign.0
    );
    drop(lab);
    drop(foreign);
    assert_eq!(NetLab::leftovers(), Vec::<String>::new());
}
