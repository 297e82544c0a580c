//! Encode and decode of three representative envelopes, beside a memcpy of
//! the same encoded bytes as the floor.
//!
//! Run with `cargo bench -p rumor-benches --bench codec`. Each iteration
//! handles one message; the throughput criterion prints is in bytes of the
//! encoding, and messages per second is one over the time per iteration.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rumor_wire::{
    Envelope, Gossip, Incarnation, MemberState, MemberUpdate, NodeId, Version, decode, encode_into,
};

fn node(i: u32) -> NodeId {
    let [a, b, c, d] = (0x0a00_0000 + i).to_be_bytes();
    NodeId::new(
        SocketAddr::from(([a, b, c, d], 4000)),
        Version(1_763_900_000_000 + u64::from(i)),
    )
}

fn members(count: u32) -> Vec<MemberUpdate> {
    (0..count)
        .map(|i| MemberUpdate {
            node: node(i),
            state: match i % 4 {
                0 | 1 => MemberState::Alive,
                2 => MemberState::Suspect,
                _ => MemberState::Failed,
            },
            incarnation: Incarnation(u64::from(i % 7)),
        })
        .collect()
}

/// The three messages: a detector ping, a 64-member gossip update, a
/// 1,000-member join response.
fn messages() -> Vec<(&'static str, Envelope)> {
    let from = node(0).addr;
    vec![
        (
            "ping",
            Envelope::new(
                from,
                Gossip::Detector {
                    detector: "swim".to_owned(),
                    sender: node(0),
                    payload: vec![0x5a; 16],
                    updates: Vec::new(),
                    extras: Default::default(),
                },
            ),
        ),
        (
            "updates_64",
            Envelope::new(
                from,
                Gossip::Updates {
                    sender: node(0),
                    updates: members(64),
                    extras: Default::default(),
                },
            ),
        ),
        (
            "join_response_1000",
            Envelope::new(
                from,
                Gossip::JoinResponse {
                    introducer: node(0),
                    nonce: 0x5eed,
                    members: members(1000),
                    extras: Default::default(),
                },
            ),
        ),
    ]
}

fn codec(c: &mut Criterion) {
    let mut buf = vec![0u8; 1 << 20];
    for (name, envelope) in messages() {
        let len =
            encode_into(&envelope, &mut buf).expect("a 1 MiB buffer holds every benchmark message");
        let encoded = buf[..len].to_vec();
        assert_eq!(decode(&encoded).expect("own encoding decodes"), envelope);
        println!("codec/{name}: {len} bytes encoded");

        let mut group = c.benchmark_group(format!("codec/{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("encode", |b| {
            b.iter(|| encode_into(black_box(&envelope), black_box(&mut buf[..])))
        });
        group.bench_function("decode", |b| b.iter(|| decode(black_box(&encoded))));
        let mut copy = vec![0u8; len];
        group.bench_function("memcpy", |b| {
            b.iter(|| {
                copy.copy_from_slice(black_box(&encoded));
                black_box(&copy);
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = codec
}
criterion_main!(benches);
