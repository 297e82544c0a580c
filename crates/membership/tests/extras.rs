//! What an embedding program adds to the protocol, on small simulated
//! clusters (the simulator's harness, every message through the real
//! codec): members' metadata reaches every member (one that joins later,
//! and one that missed the news, included), a change spreads with one
//! notice per member, oversized metadata is refused; a user broadcast is
//! handed to every member exactly once under drop, its queue is bounded;
//! an admission check's refusal reaches the joiner.

mod support;

use std::time::Duration;

use rumor_membership::{
    BROADCAST_QUEUE, BroadcastError, Config, DetectorRegistry, DetectorSettings, Gossip,
    MemberState, Membership, MembershipError, Metadata, NodeId, Notice, SetMetadataError, Time,
    UserBroadcast, Version,
};
use rumor_sim::{Cluster, ClusterBuilder};
use support::{
    DETECTORS, assert_wire_clean, cluster, cluster_built, core, false_positives, id, update,
};

fn tags(role: &str, i: usize) -> Metadata {
    Metadata::from_pairs([("role", role.to_string()), ("n", i.to_string())]).unwrap()
}

/// Every node of the builder starts with metadata `role=r<i>, n=<i>`, which
/// its join request carries.
fn tagged(mut builder: ClusterBuilder, n: usize) -> ClusterBuilder {
    for i in 0..n {
        builder = builder.metadata(i, tags(&format!("r{i}"), i));
    }
    builder
}

/// What node `observer` holds of node `member`'s metadata.
fn held(cluster: &Cluster, observer: usize, member: usize) -> Option<Metadata> {
    let info = core(cluster, observer).member(&id(cluster, member))?;
    Some(info.metadata)
}

/// The slot whose process `node` is (or was).
fn slot_of(cluster: &Cluster, node: NodeId) -> usize {
    (0..cluster.nodes())
        .find(|&s| cluster.addr(s) == node.addr)
        .unwrap_or_else(|| panic!("{node} is a node of the cluster"))
}

fn changes(notices: &[Notice]) -> Vec<(NodeId, Metadata)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::MetadataChanged { member, metadata } => Some((*member, metadata.clone())),
            _ => None,
        })
        .collect()
}

/// The user broadcasts node `slot` has received since last asked (the
/// harness leaves them for the program, as a driver does).
fn received(cluster: &mut Cluster, slot: usize) -> Vec<UserBroadcast> {
    cluster
        .with_core(slot, |core, _| {
            std::iter::from_fn(|| core.poll_broadcast()).collect()
        })
        .unwrap_or_else(|| panic!("node {slot} runs a rumor core"))
}

#[test]
fn metadata_reaches_every_member_and_one_that_joins_later() {
    for detector in DETECTORS {
        let late = 6;
        let mut cluster = cluster_built(late + 1, detector, 0.05, 11, |b| {
            tagged(b, late + 1).start_later(&[late])
        });
        cluster.run_for(Duration::from_secs(3));
        assert!(!cluster.is_running(late));
        assert!(cluster.start(late));
        cluster.run_for(Duration::from_secs(3));
        for observer in 0..=late {
            for member in 0..=late {
                let expected = tags(&format!("r{member}"), member);
                assert_eq!(
                    held(&cluster, observer, member),
                    Some(expected),
                    "{detector}: node {observer} on node {member}"
                );
            }
            // A member learnt with its metadata is told of by its `joined`
            // event; one learnt before its metadata (from a message of its
            // own without it) gets one notice when it arrives.
            let mut changed = changes(cluster.notices(observer));
            for (member, metadata) in &changed {
                let i = slot_of(&cluster, *member);
                assert_eq!(*metadata, tags(&format!("r{i}"), i), "{detector}");
            }
            let told = changed.len();
            changed.sort_by_key(|(member, _)| *member);
            changed.dedup_by_key(|(member, _)| *member);
            assert_eq!(changed.len(), told, "{detector}: at most one notice each");
        }
        let own = core(&cluster, late).metadata();
        assert_eq!(own, tags(&format!("r{late}"), late));
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_change_after_start_spreads_with_one_notice_per_member() {
    for detector in DETECTORS {
        let mut cluster = cluster_built(6, detector, 0.05, 12, |b| tagged(b, 6));
        cluster.run_for(Duration::from_secs(3));
        // Only what comes after the change counts.
        let seen: Vec<usize> = (0..6).map(|i| cluster.notices(i).len()).collect();
        let me = id(&cluster, 2);
        let before = core(&cluster, 2).member(&me).unwrap();
        let db = Metadata::from_pairs([("role", "db")]).unwrap();
        let set = cluster.with_core(2, |core, now| core.set_metadata(now, db.clone()));
        set.unwrap().unwrap();
        let after = core(&cluster, 2).member(&me).unwrap();
        assert!(after.incarnation > before.incarnation, "a new incarnation");
        // Setting what it holds already changes nothing.
        let again = cluster.with_core(2, |core, now| core.set_metadata(now, db.clone()));
        again.unwrap().unwrap();
        let again = core(&cluster, 2).member(&me).unwrap();
        assert_eq!(again.incarnation, after.incarnation);
        cluster.run_for(Duration::from_secs(2));
        for (i, &seen) in seen.iter().enumerate() {
            assert_eq!(
                held(&cluster, i, 2),
                Some(db.clone()),
                "{detector}: node {i}"
            );
            let expected = if i == 2 {
                vec![]
            } else {
                vec![(me, db.clone())]
            };
            assert_eq!(
                changes(&cluster.notices(i)[seen..]),
                expected,
                "{detector}: {i}"
            );
        }
        assert!(false_positives(&cluster).is_empty(), "{detector}");
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn a_member_that_missed_the_change_learns_it() {
    // One retransmit round per member: the news is told and done within a
    // few heartbeats, while node 3 hears nothing.
    let mut config = Config::default();
    config.retransmit_mult = std::num::NonZeroU32::new(1).unwrap();
    let mut cluster = cluster_built(5, "gossip", 0.0, 13, |b| b.config(config));
    cluster.run_for(Duration::from_secs(3));
    let db = Metadata::from_pairs([("role", "db")]).unwrap();
    cluster.partition_one_way(&[0, 1, 2, 4], &[3]);
    let set = cluster.with_core(1, |core, now| core.set_metadata(now, db.clone()));
    set.unwrap().unwrap();
    cluster.run_for(Duration::from_millis(400));
    assert_eq!(held(&cluster, 3, 1), Some(Metadata::new()), "missed");
    for i in [0, 2, 4] {
        assert_eq!(held(&cluster, i, 1), Some(db.clone()), "node {i}");
    }
    cluster.heal();
    // Digests include the stamp of a live member's metadata: the next
    // exchanges (every 2 s) find the difference and repair it, if what is
    // left of the gossip does not.
    cluster.run_for(Duration::from_secs(6));
    assert_eq!(held(&cluster, 3, 1), Some(db.clone()));
    assert_eq!(changes(cluster.notices(3)), vec![(id(&cluster, 1), db)]);
    assert!(false_positives(&cluster).is_empty());
    assert_wire_clean(&cluster, "gossip");
}

#[test]
fn a_member_rejoining_under_a_new_version_keeps_its_metadata() {
    let mut cluster = cluster_built(4, "swim", 0.0, 18, |b| tagged(b, 4));
    cluster.run_for(Duration::from_secs(2));
    let old = id(&cluster, 2);
    let verdict = Gossip::Updates {
        sender: id(&cluster, 0),
        updates: vec![update(old, MemberState::Failed, 0)],
        extras: Default::default(),
    };
    assert!(cluster.inject(2, cluster.addr(0), verdict));
    cluster.run_for(Duration::from_secs(4));
    let new = id(&cluster, 2);
    assert!(new.version > old.version, "rejoined under a new version");
    assert!(cluster.stats().rejoins >= 1, "the same process took it");
    for i in 0..4 {
        assert_eq!(held(&cluster, i, 2), Some(tags("r2", 2)), "node {i}");
    }
    assert_wire_clean(&cluster, "swim");
}

#[test]
fn metadata_too_large_for_the_datagrams_is_refused() {
    let me = NodeId::new(rumor_sim::slot_addr(0), Version(1));
    let mut config = Config::default();
    config.datagram_limit = 512;
    let registry = DetectorRegistry::with_builtins();
    let detector = || {
        registry
            .create("gossip", &DetectorSettings::new(&config))
            .unwrap()
    };
    let big = Metadata::from_pairs([("blob", "x".repeat(500))]).unwrap();
    assert_eq!(big.encoded_len(), 507);
    let refused = Membership::builder(me, detector())
        .config(config.clone())
        .metadata(big.clone())
        .start(Time::ZERO)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            MembershipError::InvalidConfig {
                key: "metadata",
                ..
            }
        ),
        "{refused}"
    );
    let mut core = Membership::builder(me, detector())
        .config(config.clone())
        .start(Time::ZERO)
        .unwrap();
    let err = core.set_metadata(Time::ZERO, big).unwrap_err();
    assert!(
        matches!(err, SetMetadataError::TooLarge { size: 507, .. }),
        "{err}"
    );
    assert_eq!(core.metadata(), Metadata::new(), "nothing changed");
    // Within the map's own limit of 512 bytes, and what fits here, is fine.
    let fits = Metadata::from_pairs([("blob", "x".repeat(300))]).unwrap();
    core.set_metadata(Time::ZERO, fits.clone()).unwrap();
    assert_eq!(core.metadata(), fits);
    core.leave(Time::ZERO);
    let late = core.set_metadata(Time::ZERO, Metadata::new());
    assert_eq!(late, Err(SetMetadataError::Left));
}

#[test]
fn large_metadata_and_broadcasts_stay_within_every_datagram() {
    for (detector, limit) in [("gossip", 1400), ("swim", 1400), ("phi", 900)] {
        let mut config = Config::default();
        config.datagram_limit = limit;
        let mut cluster = cluster_built(8, detector, 0.05, 14, |mut b| {
            b = b.config(config);
            for i in 0..8 {
                let blob = "x".repeat(480 - (i % 3) * 100);
                b = b.metadata(i, Metadata::from_pairs([("blob", blob)]).unwrap());
            }
            b
        });
        for i in 0..4 {
            let sent = cluster.with_core(i, |core, now| core.broadcast(now, vec![i as u8; 500]));
            sent.unwrap().unwrap();
        }
        cluster.run_for(Duration::from_secs(6));
        for observer in 0..8 {
            for member in 0..8 {
                let own = core(&cluster, member).metadata();
                assert!(
                    own.encoded_len() > 280,
                    "{detector}: node {member} is tagged"
                );
                assert_eq!(held(&cluster, observer, member), Some(own), "{detector}");
            }
            assert_eq!(received(&mut cluster, observer).len(), 4, "{detector}");
        }
        // Every datagram went through the codec within the limit: none was
        // refused as oversized, and none came near to being.
        assert_wire_clean(&cluster, detector);
        assert!(cluster.stats().largest_datagram <= limit, "{detector}");
    }
}

#[test]
fn a_broadcast_is_handed_to_every_member_exactly_once_under_drop() {
    for detector in DETECTORS {
        let late = 8;
        let mut cluster = cluster_built(late + 1, detector, 0.2, 15, |b| b.start_later(&[late]));
        cluster.run_for(Duration::from_secs(3));
        let payload = b"deploy 42".to_vec();
        let seq = cluster.with_core(3, |core, now| core.broadcast(now, payload.clone()));
        let seq = seq.unwrap().unwrap();
        // A member joining while the broadcast is still passed on gets it.
        cluster.run_for(Duration::from_millis(100));
        assert!(cluster.start(late));
        cluster.run_for(Duration::from_secs(5));
        let origin = id(&cluster, 3);
        let mut duplicates = 0;
        for i in 0..=late {
            let got = received(&mut cluster, i);
            let expected = UserBroadcast::new(origin, seq, payload.clone());
            assert_eq!(got, vec![expected], "{detector}: node {i}");
            let stats = core(&cluster, i).stats();
            duplicates += stats.broadcast_duplicates;
            let own = u64::from(i == 3);
            assert_eq!(stats.broadcasts_received, 1 - own, "{detector}: node {i}");
            assert_eq!(stats.broadcasts_sent, own);
        }
        assert!(
            duplicates > 0,
            "{detector}: every member hears it more than once"
        );
        assert!(false_positives(&cluster).is_empty(), "{detector}");
        assert_wire_clean(&cluster, detector);
    }
}

#[test]
fn the_broadcast_queue_is_bounded_and_drains() {
    let mut cluster = cluster(2, "gossip", 0.0, 16);
    cluster.run_for(Duration::from_secs(1));
    let (big, full) = cluster
        .with_core(0, |core, now| {
            let big = core.broadcast(now, vec![0; rumor_membership::BROADCAST_LIMIT + 1]);
            for _ in 0..BROADCAST_QUEUE {
                core.broadcast(now, b"x".to_vec()).unwrap();
            }
            (big, core.broadcast(now, b"x".to_vec()))
        })
        .unwrap();
    assert!(
        matches!(big, Err(BroadcastError::TooLarge { .. })),
        "{big:?}"
    );
    let limit = BROADCAST_QUEUE;
    assert_eq!(full, Err(BroadcastError::QueueFull { limit }));
    cluster.run_for(Duration::from_secs(3));
    assert_eq!(received(&mut cluster, 1).len(), BROADCAST_QUEUE);
    let again = cluster.with_core(0, |core, now| core.broadcast(now, b"y".to_vec()));
    assert!(again.unwrap().is_ok());
    cluster.leave(0);
    let left = cluster.with_core(0, |core, now| core.broadcast(now, b"z".to_vec()));
    assert_eq!(left, Some(Err(BroadcastError::Left)));
}

#[test]
fn an_admission_refusal_reaches_the_joiner_with_its_reason() {
    let db = Metadata::from_pairs([("role", "db")]).unwrap();
    let web = Metadata::from_pairs([("role", "web")]).unwrap();
    // Every member admits web servers only; nodes 1 (db) and 2 (web)
    // join the running cluster of node 0 one after the other.
    let mut cluster = cluster_built(3, "swim", 0.0, 17, |b| {
        b.metadata(1, db)
            .metadata(2, web.clone())
            .start_later(&[1, 2])
            .setup(|_, core, _| {
                core.set_admission(
                    |_: &NodeId, metadata: &Metadata| match metadata.get("role") {
                        Some("web") => Ok(()),
                        other => Err(format!("role {other:?} is not web")),
                    },
                )
            })
    });
    assert!(cluster.start(1));
    cluster.run_for(Duration::from_millis(100));
    assert!(core(&cluster, 1).is_joining());
    let introducer = cluster.addr(0);
    let refusals: Vec<&String> = cluster
        .notices(1)
        .iter()
        .filter_map(|n| match n {
            Notice::JoinRefused { by, reason } if *by == introducer => Some(reason),
            _ => None,
        })
        .collect();
    assert!(!refusals.is_empty(), "{:?}", cluster.notices(1));
    let joiner = id(&cluster, 1);
    let why = format!("does not admit {joiner}: role Some(\"db\") is not web");
    assert!(refusals[0].ends_with(&why), "{}", refusals[0]);
    assert!(core(&cluster, 0).stats().admission_refusals >= 1);
    // Under no version: a refused joiner may try again under a newer one.
    let lists_node_1 =
        |c: &Cluster, observer: usize| c.members(observer).iter().any(|m| m.node.addr == c.addr(1));
    assert!(!lists_node_1(&cluster, 0));
    // A joiner the check admits joins as usual.
    assert!(cluster.start(2));
    cluster.run_for(Duration::from_millis(100));
    assert!(!core(&cluster, 2).is_joining());
    assert_eq!(held(&cluster, 0, 2), Some(web));
    // And the refused one stays out.
    assert!(core(&cluster, 1).is_joining());
    assert!(!lists_node_1(&cluster, 0));
    assert!(!lists_node_1(&cluster, 2));
    assert_wire_clean(&cluster, "swim");
}
