//! What an embedding program adds to the protocol, on small in-memory
//! clusters: members' metadata reaches every member (one that joins later,
//! and one that missed the news, included), a change spreads with one
//! notice per member, oversized metadata is refused; a user broadcast is
//! handed to every member exactly once under drop, its queue is bounded;
//! an admission check's refusal reaches the joiner.

mod common;

use std::time::Duration;

use common::{Cluster, addr};
use rumor_membership::{
    BROADCAST_QUEUE, BroadcastError, Config, DetectorRegistry, DetectorSettings, Membership,
    MembershipError, Metadata, NodeId, Notice, SetMetadataError, Time, UserBroadcast, Version,
};

const DETECTORS: &[&str] = &["gossip", "swim", "phi"];

fn tags(role: &str, i: usize) -> Metadata {
    Metadata::from_pairs([("role", role.to_string()), ("n", i.to_string())]).unwrap()
}

/// A cluster of `n` nodes, each with metadata `role=r<i>, n=<i>` set before
/// it joins through node 0.
fn tagged_cluster(n: usize, detector: &str, drop_rate: f64, seed: u64) -> Cluster {
    let mut cluster = Cluster::new(1, detector, drop_rate, seed);
    let now = cluster.now;
    cluster.nodes[0]
        .core
        .set_metadata(now, tags("r0", 0))
        .unwrap();
    for i in 1..n {
        add_tagged(&mut cluster, i);
        cluster.run_for(Duration::from_millis(10));
    }
    cluster
}

/// Node `i` starts with its metadata and joins through node 0.
fn add_tagged(cluster: &mut Cluster, i: usize) {
    cluster.spawn(i, 1);
    let now = cluster.now;
    let role = format!("r{i}");
    cluster.nodes[i]
        .core
        .set_metadata(now, tags(&role, i))
        .unwrap();
    cluster.join(i, 0);
}

/// What node `observer` holds of node `member`'s metadata.
fn held(cluster: &Cluster, observer: usize, member: usize) -> Option<Metadata> {
    let id = cluster.id(member);
    let info = cluster.nodes[observer].core.member(&id)?;
    Some(info.metadata)
}

fn notices(cluster: &mut Cluster, i: usize) -> Vec<Notice> {
    std::iter::from_fn(|| cluster.nodes[i].core.poll_notice()).collect()
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

#[test]
fn metadata_reaches_every_member_and_one_that_joins_later() {
    for detector in DETECTORS {
        let mut cluster = tagged_cluster(6, detector, 0.05, 11);
        cluster.run_for(Duration::from_secs(3));
        let late = 6;
        add_tagged(&mut cluster, late);
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
            let mut changed = changes(&notices(&mut cluster, observer));
            for (member, metadata) in &changed {
                let i = usize::from(member.addr.port() - 4000);
                assert_eq!(*metadata, tags(&format!("r{i}"), i), "{detector}");
            }
            let told = changed.len();
            changed.sort_by_key(|(member, _)| *member);
            changed.dedup_by_key(|(member, _)| *member);
            assert_eq!(changed.len(), told, "{detector}: at most one notice each");
        }
        let own = cluster.nodes[late].core.metadata();
        assert_eq!(own, tags(&format!("r{late}"), late));
    }
}

#[test]
fn a_change_after_start_spreads_with_one_notice_per_member() {
    for detector in DETECTORS {
        let mut cluster = tagged_cluster(6, detector, 0.05, 12);
        cluster.run_for(Duration::from_secs(3));
        for i in 0..6 {
            notices(&mut cluster, i);
        }
        let before = cluster.nodes[2].core.member(&cluster.id(2)).unwrap();
        let db = Metadata::from_pairs([("role", "db")]).unwrap();
        let now = cluster.now;
        cluster.nodes[2].core.set_metadata(now, db.clone()).unwrap();
        let after = cluster.nodes[2].core.member(&cluster.id(2)).unwrap();
        assert!(after.incarnation > before.incarnation, "a new incarnation");
        // Setting what it holds already changes nothing.
        cluster.nodes[2].core.set_metadata(now, db.clone()).unwrap();
        let again = cluster.nodes[2].core.member(&cluster.id(2)).unwrap();
        assert_eq!(again.incarnation, after.incarnation);
        cluster.run_for(Duration::from_secs(2));
        for i in 0..6 {
            assert_eq!(
                held(&cluster, i, 2),
                Some(db.clone()),
                "{detector}: node {i}"
            );
            let expected = if i == 2 {
                vec![]
            } else {
                vec![(cluster.id(2), db.clone())]
            };
            assert_eq!(
                changes(&notices(&mut cluster, i)),
                expected,
                "{detector}: {i}"
            );
        }
        assert!(cluster.false_positives().is_empty(), "{detector}");
    }
}

#[test]
fn a_member_that_missed_the_change_learns_it() {
    // One retransmit round per member: the news is told and done within a
    // few heartbeats, while node 3 hears nothing.
    let config = Config {
        retransmit_mult: std::num::NonZeroU32::new(1).unwrap(),
        ..Config::default()
    };
    let mut cluster = Cluster::with_config(1, "gossip", 0.0, 13, config);
    for i in 1..5 {
        cluster.spawn(i, 1);
        cluster.join(i, 0);
        cluster.run_for(Duration::from_millis(10));
    }
    cluster.run_for(Duration::from_secs(3));
    let db = Metadata::from_pairs([("role", "db")]).unwrap();
    cluster.blocked = (0..5).filter(|&i| i != 3).map(|i| (i, 3)).collect();
    let now = cluster.now;
    cluster.nodes[1].core.set_metadata(now, db.clone()).unwrap();
    cluster.run_for(Duration::from_millis(400));
    assert_eq!(held(&cluster, 3, 1), Some(Metadata::new()), "missed");
    for i in [0, 2, 4] {
        assert_eq!(held(&cluster, i, 1), Some(db.clone()), "node {i}");
    }
    cluster.blocked.clear();
    // Digests include the stamp of a live member's metadata: the next
    // exchanges (every 2 s) find the difference and repair it, if what is
    // left of the gossip does not.
    cluster.run_for(Duration::from_secs(6));
    assert_eq!(held(&cluster, 3, 1), Some(db.clone()));
    let notices = notices(&mut cluster, 3);
    assert_eq!(changes(&notices), vec![(cluster.id(1), db)]);
    assert!(cluster.false_positives().is_empty());
}

#[test]
fn a_member_rejoining_under_a_new_version_keeps_its_metadata() {
    let mut cluster = tagged_cluster(4, "swim", 0.0, 18);
    cluster.run_for(Duration::from_secs(2));
    let old = cluster.id(2);
    let failed = rumor_membership::MemberUpdate {
        node: old,
        state: rumor_membership::MemberState::Failed,
        incarnation: rumor_membership::Incarnation(0),
    };
    let verdict = rumor_membership::Gossip::Updates {
        sender: cluster.id(0),
        updates: vec![failed],
        extras: Default::default(),
    };
    cluster.inject(2, addr(0), verdict);
    cluster.run_for(Duration::from_secs(4));
    let new = cluster.id(2);
    assert!(new.version > old.version, "rejoined under a new version");
    for i in 0..4 {
        assert_eq!(held(&cluster, i, 2), Some(tags("r2", 2)), "node {i}");
    }
}

#[test]
fn metadata_too_large_for_the_datagrams_is_refused() {
    let me = NodeId::new(addr(0), Version(1));
    let config = Config {
        datagram_limit: 512,
        ..Config::default()
    };
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
    // The harness panics on any datagram over the limit.
    for (detector, limit) in [("gossip", 1400), ("swim", 1400), ("phi", 900)] {
        let config = Config {
            datagram_limit: limit,
            ..Config::default()
        };
        let mut cluster = Cluster::with_config(1, detector, 0.05, 14, config);
        for i in 0..8 {
            if i > 0 {
                cluster.spawn(i, 1);
            }
            let blob = "x".repeat(480 - (i % 3) * 100);
            let metadata = Metadata::from_pairs([("blob", blob)]).unwrap();
            let now = cluster.now;
            cluster.nodes[i].core.set_metadata(now, metadata).unwrap();
            if i > 0 {
                cluster.join(i, 0);
            }
            cluster.run_for(Duration::from_millis(10));
        }
        for i in 0..4 {
            let now = cluster.now;
            cluster.nodes[i]
                .core
                .broadcast(now, vec![i as u8; 500])
                .unwrap();
        }
        cluster.run_for(Duration::from_secs(6));
        for observer in 0..8 {
            for member in 0..8 {
                let own = cluster.nodes[member].core.metadata();
                assert_eq!(held(&cluster, observer, member), Some(own), "{detector}");
            }
            assert_eq!(received(&mut cluster, observer).len(), 4, "{detector}");
        }
        assert!(cluster.largest_datagram <= limit);
    }
}

fn received(cluster: &mut Cluster, i: usize) -> Vec<UserBroadcast> {
    std::iter::from_fn(|| cluster.nodes[i].core.poll_broadcast()).collect()
}

#[test]
fn a_broadcast_is_handed_to_every_member_exactly_once_under_drop() {
    for detector in DETECTORS {
        let mut cluster = Cluster::new(8, detector, 0.2, 15);
        cluster.run_for(Duration::from_secs(3));
        let now = cluster.now;
        let seq = cluster.nodes[3]
            .core
            .broadcast(now, b"deploy 42".to_vec())
            .unwrap();
        // A member joining while the broadcast is still passed on gets it.
        cluster.run_for(Duration::from_millis(100));
        cluster.spawn(8, 1);
        cluster.join(8, 0);
        cluster.run_for(Duration::from_secs(5));
        let origin = cluster.id(3);
        let mut duplicates = 0;
        for i in 0..9 {
            let got = received(&mut cluster, i);
            let expected = UserBroadcast::new(origin, seq, b"deploy 42".to_vec());
            assert_eq!(got, vec![expected], "{detector}: node {i}");
            duplicates += cluster.nodes[i].core.stats().broadcast_duplicates;
            let stats = cluster.nodes[i].core.stats();
            let own = u64::from(i == 3);
            assert_eq!(stats.broadcasts_received, 1 - own, "{detector}: node {i}");
            assert_eq!(stats.broadcasts_sent, own);
        }
        assert!(
            duplicates > 0,
            "{detector}: every member hears it more than once"
        );
        assert!(cluster.false_positives().is_empty(), "{detector}");
    }
}

#[test]
fn the_broadcast_queue_is_bounded_and_drains() {
    let mut cluster = Cluster::new(2, "gossip", 0.0, 16);
    cluster.run_for(Duration::from_secs(1));
    let now = cluster.now;
    let core = &mut cluster.nodes[0].core;
    let big = core.broadcast(now, vec![0; rumor_membership::BROADCAST_LIMIT + 1]);
    assert!(
        matches!(big, Err(BroadcastError::TooLarge { .. })),
        "{big:?}"
    );
    for _ in 0..BROADCAST_QUEUE {
        core.broadcast(now, b"x".to_vec()).unwrap();
    }
    let full = core.broadcast(now, b"x".to_vec());
    let limit = BROADCAST_QUEUE;
    assert_eq!(full, Err(BroadcastError::QueueFull { limit }));
    cluster.run_for(Duration::from_secs(3));
    assert_eq!(received(&mut cluster, 1).len(), BROADCAST_QUEUE);
    let now = cluster.now;
    assert!(cluster.nodes[0].core.broadcast(now, b"y".to_vec()).is_ok());
    cluster.nodes[0].core.leave(now);
    let left = cluster.nodes[0].core.broadcast(now, b"z".to_vec());
    assert_eq!(left, Err(BroadcastError::Left));
}

#[test]
fn an_admission_refusal_reaches_the_joiner_with_its_reason() {
    let mut cluster = Cluster::new(1, "swim", 0.0, 17);
    cluster.nodes[0]
        .core
        .set_admission(
            |_: &NodeId, metadata: &Metadata| match metadata.get("role") {
                Some("web") => Ok(()),
                other => Err(format!("role {other:?} is not web")),
            },
        );
    cluster.spawn(1, 1);
    let now = cluster.now;
    let db = Metadata::from_pairs([("role", "db")]).unwrap();
    cluster.nodes[1].core.set_metadata(now, db).unwrap();
    cluster.join(1, 0);
    cluster.run_for(Duration::from_millis(100));
    assert!(cluster.nodes[1].core.is_joining());
    let refusals: Vec<String> = notices(&mut cluster, 1)
        .into_iter()
        .filter_map(|n| match n {
            Notice::JoinRefused { by, reason } if by == addr(0) => Some(reason),
            _ => None,
        })
        .collect();
    assert!(!refusals.is_empty());
    assert!(
        refusals[0].ends_with("does not admit 127.0.0.1:4001#1: role Some(\"db\") is not web"),
        "{}",
        refusals[0]
    );
    assert!(cluster.nodes[0].core.stats().admission_refusals >= 1);
    assert!(cluster.nodes[0].core.member(&cluster.id(1)).is_none());
    // A joiner the check admits joins as usual.
    cluster.spawn(2, 1);
    let web = Metadata::from_pairs([("role", "web")]).unwrap();
    let now = cluster.now;
    cluster.nodes[2]
        .core
        .set_metadata(now, web.clone())
        .unwrap();
    cluster.join(2, 0);
    cluster.run_for(Duration::from_millis(100));
    assert!(!cluster.nodes[2].core.is_joining());
    assert_eq!(held(&cluster, 0, 2), Some(web));
}
