//! proptest strategies for every message kind, shared by the wire tests.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use rumor_wire::*;

pub fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    (addr(), any::<u64>()).prop_map(|(a, v)| NodeId::new(a, Version(v)))
}

pub fn state() -> impl Strategy<Value = MemberState> {
    prop_oneof![
        Just(MemberState::Alive),
        Just(MemberState::Suspect),
        Just(MemberState::Failed),
        Just(MemberState::Left),
    ]
}

pub fn update() -> impl Strategy<Value = MemberUpdate> {
    (node_id(), state(), any::<u64>()).prop_map(|(node, state, inc)| MemberUpdate {
        node,
        state,
        incarnation: Incarnation(inc),
    })
}

pub fn metadata() -> impl Strategy<Value = Metadata> {
    vec(("[a-z]{1,8}", ".{0,12}"), 0..6).prop_map(|pairs| {
        Metadata::from_pairs(pairs).expect("six short pairs fit the metadata limit")
    })
}

pub fn extras() -> impl Strategy<Value = Extras> {
    (
        vec((node_id(), any::<u64>(), metadata()), 0..3),
        vec(
            (
                node_id(),
                any::<u64>(),
                vec(any::<u8>(), 0..=BROADCAST_LIMIT),
            ),
            0..3,
        ),
    )
        .prop_map(|(metadata, broadcasts)| {
            let metadata = metadata
                .into_iter()
                .map(|(node, i, m)| MemberMetadata::new(node, Incarnation(i), m))
                .collect();
            let broadcasts = broadcasts
                .into_iter()
                .map(|(origin, seq, payload)| UserBroadcast::new(origin, seq, payload))
                .collect();
            Extras::from_parts(metadata, broadcasts)
        })
}

pub fn flags() -> impl Strategy<Value = GrepFlags> {
    (
        any::<[bool; 7]>(),
        option::of(any::<u64>()),
        option::of(any::<(u64, u64)>()),
    )
        .prop_map(|(b, max_count, context)| {
            let mut flags = GrepFlags::default();
            flags.ignore_case = b[0];
            flags.invert = b[1];
            flags.count = b[2];
            flags.line_number = b[3];
            flags.fixed_strings = b[4];
            flags.word = b[5];
            flags.line = b[6];
            flags.max_count = max_count;
            flags.context = context;
            flags
        })
}

pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (node_id(), any::<u64>(), extras())
            .prop_map(|(node, nonce, extras)| Gossip::JoinRequest {
                node,
                nonce,
                extras
            })
            .prop_map(Message::from),
        (node_id(), any::<u64>(), vec(update(), 0..40), extras())
            .prop_map(|(introducer, nonce, members, extras)| {
                Gossip::JoinResponse {
                    introducer,
                    nonce,
                    members,
                    extras,
                }
            })
            .prop_map(Message::from),
        (any::<u64>(), ".{0,40}", option::of(any::<u64>()))
            .prop_map(|(nonce, reason, newer)| {
                Gossip::JoinRefused {
                    nonce,
                    reason,
                    retry: match newer {
                        Some(v) => JoinRetry::NewerThan(Version(v)),
                        None => JoinRetry::Elsewhere,
                    },
                }
            })
            .prop_map(Message::from),
        (node_id(), update(), any::<u32>(), any::<bool>())
            .prop_map(|(sender, member, live, reply)| Gossip::Gone {
                sender,
                member,
                live,
                reply
            })
            .prop_map(Message::from),
        (node_id(), any::<u64>())
            .prop_map(|(node, i)| Gossip::Leave {
                node,
                incarnation: Incarnation(i)
            })
            .prop_map(Message::from),
        (node_id(), vec(update(), 0..40), extras())
            .prop_map(|(sender, updates, extras)| Gossip::Updates {
                sender,
                updates,
                extras
            })
            .prop_map(Message::from),
        (
            "[a-z]{1,12}",
            node_id(),
            vec(any::<u8>(), 0..200),
            vec(update(), 0..4),
            extras()
        )
            .prop_map(|(detector, sender, payload, updates, extras)| {
                Gossip::Detector {
                    detector,
                    sender,
                    payload,
                    updates,
                    extras,
                }
            })
            .prop_map(Message::from),
        (any::<u64>(), vec(".{0,30}", 0..4), flags())
            .prop_map(|(query, patterns, flags)| {
                Dgrep::Request(DgrepRequest {
                    query,
                    patterns,
                    flags,
                })
            })
            .prop_map(Message::from),
        (
            any::<u64>(),
            node_id(),
            vec(
                (".{0,20}", option::of(any::<u64>()), vec(any::<u8>(), 0..80)),
                0..10
            )
        )
            .prop_map(|(query, node, lines)| Dgrep::Chunk(DgrepChunk {
                query,
                node,
                lines: lines
                    .into_iter()
                    .map(|(file, line_number, text)| GrepLine {
                        file,
                        line_number,
                        text
                    })
                    .collect(),
            }))
            .prop_map(Message::from),
        (
            any::<u64>(),
            node_id(),
            vec((".{0,20}", any::<u64>()), 0..5),
            any::<u64>(),
            any::<u64>(),
            option::of(".{0,30}")
        )
            .prop_map(|(query, node, counts, bytes_searched, elapsed_ms, error)| {
                let mut done = DgrepDone::new(query, node);
                done.counts = counts
                    .into_iter()
                    .map(|(file, count)| FileCount { file, count })
                    .collect();
                done.bytes_searched = bytes_searched;
                done.elapsed_ms = elapsed_ms;
                done.error = error;
                Dgrep::Done(done)
            })
            .prop_map(Message::from),
        Just(Control::MemberQuery).prop_map(Message::from),
        (node_id(), vec((update(), metadata()), 0..20))
            .prop_map(|(node, ms)| Control::MemberList {
                node,
                members: ms
                    .into_iter()
                    .map(|(u, m)| MemberInfo::new(u.node, u.state, u.incarnation).with_metadata(m))
                    .collect(),
            })
            .prop_map(Message::from),
        vec(any::<u8>(), 0..=BROADCAST_LIMIT)
            .prop_map(|payload| Control::Broadcast { payload })
            .prop_map(Message::from),
        Just(Control::LeaveCommand).prop_map(Message::from),
        ".{0,40}"
            .prop_map(|reason| Control::Error { reason })
            .prop_map(Message::from),
        (
            node_id(),
            any::<bool>(),
            any::<u32>(),
            any::<u32>(),
            vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(sender, reply, buckets, first, summaries)| Gossip::Digest {
                    sender,
                    reply,
                    buckets,
                    first,
                    summaries,
                }
            )
            .prop_map(Message::from),
    ]
}

pub fn envelope() -> impl Strategy<Value = Envelope> {
    (addr(), message()).prop_map(|(from, body)| Envelope::new(from, body))
}

pub fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut out = Vec::new();
    encode_to_vec(envelope, &mut out, usize::MAX).expect("strategies produce encodable values");
    out
}
