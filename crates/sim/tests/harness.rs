//! The simulator as a library: [`Cluster`] is what [`run`] plays, faults
//! act the moment they are called, conditions stop the clock where they
//! first hold, and carrying messages through the real codec changes
//! nothing about a run.

use std::time::Duration;

use rumor_membership::{DetectorRegistry, EventKind, Gossip, MemberState};
use rumor_sim::{
    ActionKind, ActionSpec, Cluster, RunOptions, Scenario, SimError, registry, run, slot_addr,
};

const S: fn(u64) -> Duration = Duration::from_secs;

/// Ten nodes, 5 % receiver-side drop, one node crashing at 6 s and two
/// cut from the rest from 8 s to 12 s.
fn busy(detector: &str) -> Scenario {
    let mut partition = ActionSpec::new(S(8), ActionKind::Partition, vec![4, 5]);
    partition.lasting = Some(S(4));
    let mut scenario = Scenario::default();
    scenario.nodes = 10;
    scenario.detector = Some(detector.into());
    scenario.loss = 0.05;
    scenario.fail = 1;
    scenario.warmup = S(6);
    scenario.duration = S(20);
    scenario.actions = vec![partition];
    scenario
}

#[test]
fn run_is_a_cluster_played_to_the_end_in_any_steps() {
    let registry = registry();
    let scenario = busy("swim");
    let options = RunOptions::default().with_events(true);
    let whole = run(&scenario, 3, &registry, options).unwrap();
    let mut cluster = Cluster::new(&scenario, 3, &registry, options).unwrap();
    for t in [0, 1, 5, 6, 7, 11, 12, 19] {
        cluster.run_until(S(t));
        assert_eq!(cluster.now(), S(t));
    }
    cluster.run_for(S(1));
    let stepped = cluster.finish();
    assert_eq!(stepped.report, whole.report);
    assert_eq!(stepped.events, whole.events);
    assert_eq!(whole.report.crashes.len(), 1);
    assert_eq!(whole.report.heals.len(), 1);
}

#[test]
fn the_real_codec_changes_nothing_about_a_run() {
    let registry = registry();
    for detector in ["gossip", "swim", "phi"] {
        let scenario = busy(detector);
        let plain = RunOptions::default().with_events(true);
        let mut values = Cluster::new(&scenario, 5, &registry, plain).unwrap();
        let mut bytes = Cluster::new(&scenario, 5, &registry, plain.with_wire(true)).unwrap();
        values.run_until(scenario.duration);
        bytes.run_until(scenario.duration);
        let stats = bytes.stats();
        assert_eq!(stats.wire_errors, 0, "{detector}");
        assert!(stats.datagrams > 1000, "{detector}: {stats:?}");
        assert_eq!(stats, values.stats(), "{detector}");
        assert_eq!(bytes.events(), values.events(), "{detector}");
        assert_eq!(bytes.finish().report, values.finish().report, "{detector}");
    }
}

#[test]
fn faults_act_the_moment_they_are_called() {
    let registry = registry();
    let mut cluster = Cluster::builder(6)
        .detector("swim")
        .seed(2)
        .build(&registry)
        .unwrap();
    assert_eq!(cluster.id(0), None, "nothing runs before the clock moves");
    assert!(
        cluster.run_until_holds(S(5), Duration::from_millis(10), |c| {
            c.is_full_membership() && c.every_live_node_sees_alive(6)
        })
    );
    let formed = cluster.now();
    assert!(formed < S(5), "formed at {formed:?}");
    assert_eq!(formed.as_millis() % 10, 0, "checked every 10 ms");

    let old = cluster.id(3).unwrap();
    cluster.crash(3);
    assert!(!cluster.is_running(3));
    assert_eq!(cluster.live_slots(), [0, 1, 2, 4, 5]);
    assert!(!cluster.inject(
        3,
        slot_addr(0),
        Gossip::Updates {
            sender: cluster.id(0).unwrap(),
            updates: vec![],
            extras: Default::default(),
        }
    ));
    assert!(cluster.with_core(3, |_, _| ()).is_none());
    assert!(cluster.core(3).is_none());
    cluster.run_for(S(5));
    assert!(
        cluster
            .events()
            .iter()
            .any(|e| e.kind == EventKind::Failed && e.member == old)
    );

    cluster.restart(3);
    let new = cluster.id(3).unwrap();
    assert!(old.is_superseded_by(&new));
    assert_eq!(new.addr, cluster.addr(3));
    assert!(cluster.run_until_holds(S(5), Duration::from_millis(10), Cluster::is_full_membership));

    cluster.isolate(&[5]);
    cluster.run_for(S(5));
    assert!(!cluster.is_full_membership(), "the cut bit");
    assert!(cluster.stats().drops.partitioned > 0);
    cluster.heal();
    assert!(cluster.run_until_holds(
        S(10),
        Duration::from_millis(10),
        Cluster::is_full_membership
    ));
    assert!(cluster.stats().rejoins > 0, "the isolated node rejoined");

    cluster.leave(1);
    assert!(cluster.is_running(1), "a leaver lingers");
    assert!(!cluster.live_slots().contains(&1));
    cluster.run_for(S(1));
    assert!(!cluster.is_running(1), "then stops");

    let before = cluster.stats().steps;
    cluster.pause(2, S(1));
    cluster.set_loss(1.0);
    cluster.run_for(S(1));
    assert!(cluster.stats().steps > before);
    assert!(cluster.stats().drops.receiver > 0, "everything is dropped");
    let report = cluster.finish().report;
    assert_eq!(report.pauses, 1);
    assert_eq!(
        report.crashes.len(),
        1,
        "a restart of a stopped slot crashes nothing"
    );
    assert_eq!(report.leaves.len(), 1);
}

#[test]
fn a_caller_reaches_into_a_core_as_its_driver() {
    let registry = registry();
    let mut cluster = Cluster::builder(3).seed(4).build(&registry).unwrap();
    cluster.run_for(S(2));
    let target = cluster.id(2).unwrap();
    // Node 0 is told node 2 is suspected; the news spreads and node 2
    // refutes it.
    let rumor = Gossip::Updates {
        sender: cluster.id(1).unwrap(),
        updates: vec![rumor_membership::MemberUpdate {
            node: target,
            state: MemberState::Suspect,
            incarnation: rumor_membership::Incarnation(0),
        }],
        extras: Default::default(),
    };
    assert!(cluster.inject(0, cluster.addr(1), rumor));
    let state = |c: &Cluster, slot: usize| {
        c.members(slot)
            .into_iter()
            .find(|m| m.node == target)
            .map(|m| m.state)
    };
    assert_eq!(state(&cluster, 0), Some(MemberState::Suspect));
    cluster.run_for(S(2));
    assert_eq!(state(&cluster, 0), Some(MemberState::Alive));
    assert!(cluster.core(2).unwrap().stats().self_refutations >= 1);
    // What a driver calls goes out as the driver would send it.
    let sent = cluster.stats().datagrams;
    let left = cluster.with_core(1, |core, now| {
        core.leave(now);
        core.has_left()
    });
    assert_eq!(left, Some(true));
    assert!(
        cluster.stats().datagrams > sent,
        "the leave went out at once"
    );
    cluster.run_for(S(1));
    let leaver = cluster.id(1).unwrap();
    for slot in [0, 2] {
        let observer = cluster.id(slot).unwrap();
        assert!(
            cluster
                .events()
                .iter()
                .any(|e| e.observer == observer && e.member == leaver && e.kind == EventKind::Left)
        );
    }
}

#[test]
fn detectors_come_from_the_callers_registry() {
    let empty = DetectorRegistry::new();
    let err = Cluster::builder(3)
        .detector("gossip")
        .build(&empty)
        .err()
        .expect("an empty registry knows no gossip");
    assert!(matches!(err, SimError::UnknownDetector { .. }), "{err}");
    assert!(
        err.to_string().contains("foca"),
        "foca needs no registration"
    );
    let mut own = DetectorRegistry::new();
    own.register("beat", |settings| {
        let gossip = DetectorRegistry::with_builtins();
        gossip.create("gossip", settings)
    });
    let mut cluster = Cluster::builder(3)
        .detector("beat")
        .build(&own)
        .expect("a registered detector");
    cluster.run_for(S(2));
    assert!(cluster.is_full_membership());
    assert!(cluster.events().iter().all(|e| &*e.detector == "gossip"));
}

#[test]
fn the_builder_sets_nodes_up_as_a_program_would() {
    use rumor_membership::{Metadata, NodeId, Notice};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let registry = registry();
    let tags = |role: &str| Metadata::from_pairs([("role", role)]).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let mut cluster = Cluster::builder(4)
        .detector("swim")
        .seed(6)
        .wire(true)
        .metadata(0, tags("web"))
        .metadata(2, tags("db"))
        .metadata(3, tags("web"))
        .start_later(&[2, 3])
        .setup(move |_, core, _| {
            counted.fetch_add(1, Ordering::Relaxed);
            core.set_admission(|_: &NodeId, m: &Metadata| match m.get("role") {
                Some("db") => Err("no databases".to_owned()),
                _ => Ok(()),
            });
        })
        .build(&registry)
        .unwrap();
    cluster.run_for(S(3));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "one call per core started"
    );
    assert_eq!(cluster.live_slots(), [0, 1], "nodes 2 and 3 wait");
    assert!(cluster.is_full_membership());
    // Node 1 learnt node 0's metadata from the join; every notice is kept.
    let zero = cluster.id(0).unwrap();
    let info = cluster.core(1).unwrap().member(&zero).unwrap();
    assert_eq!(info.metadata, tags("web"));
    assert!(
        cluster
            .notices(1)
            .iter()
            .any(|n| matches!(n, Notice::Joined { .. })),
        "{:?}",
        cluster.notices(1)
    );
    assert_eq!(cluster.stats().notices.joined, 1);

    // The join request carries the joiner's metadata to the check.
    assert!(cluster.start(2));
    assert!(!cluster.start(2), "it runs already");
    assert!(cluster.start(3));
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    cluster.run_for(S(2));
    assert!(cluster.core(2).unwrap().is_joining(), "refused everywhere");
    let refused = cluster
        .notices(2)
        .iter()
        .filter(
            |n| matches!(n, Notice::JoinRefused { reason, .. } if reason.ends_with("no databases")),
        )
        .count();
    assert!(refused > 0, "{:?}", cluster.notices(2));
    assert!(!cluster.core(3).unwrap().is_joining());
    let three = cluster.id(3).unwrap();
    let info = cluster.core(0).unwrap().member(&three).unwrap();
    assert_eq!(info.metadata, tags("web"));
    // A restart starts with the slot's metadata, and the calls run again.
    cluster.restart(3);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    assert_eq!(cluster.core(3).unwrap().metadata(), tags("web"));
    assert_eq!(cluster.stats().wire_errors, 0);
}

#[test]
fn nodes_held_back_leave_the_others_as_they_were() {
    let registry = registry();
    let build = |later: &[usize]| {
        let mut cluster = Cluster::builder(5)
            .seed(9)
            .start_later(later)
            .build(&registry)
            .unwrap();
        cluster.run_for(S(3));
        cluster
    };
    let all = build(&[]);
    let some = build(&[1, 3]);
    for slot in [0, 2, 4] {
        assert_eq!(all.id(slot), some.id(slot), "node {slot} started as before");
    }
    assert_eq!(some.id(1), None);
    assert!(some.is_full_membership());
    assert!(some.notices(0).is_empty(), "the founder asked nobody");
    // Without the builder's default, nothing is kept (and all is counted).
    let plain = Cluster::builder(3)
        .options(RunOptions::default())
        .build(&registry)
        .map(|mut c| {
            c.run_for(S(3));
            c
        })
        .unwrap();
    assert!((0..3).all(|slot| plain.notices(slot).is_empty()));
    assert_eq!(plain.stats().notices.joined, 2);
}

#[test]
fn the_builder_refuses_what_cannot_run() {
    let registry = registry();
    let tags = rumor_membership::Metadata::from_pairs([("role", "web")]).unwrap();
    let invalid = |builder: rumor_sim::ClusterBuilder| match builder.build(&registry) {
        Err(e) => e,
        Ok(_) => panic!("built"),
    };
    let err = invalid(Cluster::builder(3).start_later(&[0]));
    assert!(matches!(err, SimError::Invalid(_)), "{err}");
    let err = invalid(Cluster::builder(3).start_later(&[3]));
    assert!(matches!(err, SimError::Invalid(_)), "{err}");
    let err = invalid(Cluster::builder(3).metadata(5, tags.clone()));
    assert!(matches!(err, SimError::Invalid(_)), "{err}");
    let err = invalid(Cluster::builder(3).detector("foca").metadata(1, tags));
    assert!(matches!(err, SimError::Invalid(_)), "{err}");
    let mut config = rumor_membership::Config::default();
    config.datagram_limit = 512;
    let big = rumor_membership::Metadata::from_pairs([("blob", "x".repeat(500))]).unwrap();
    let err = invalid(Cluster::builder(3).config(config).metadata(1, big));
    assert!(matches!(err, SimError::Membership(_)), "{err}");
    assert!(err.to_string().contains("metadata of node 1"), "{err}");
}
