//! Sealing and opening with rumor-seal under each cipher (AES-256-GCM,
//! XChaCha20-Poly1305; counter nonce, replay check) of a ping-sized and a
//! 1,400-byte plaintext, beside the clear codec on the same envelopes, the
//! whole send and receive paths (encode then seal, open then decode) and,
//! as references, the bare AEADs on the same bytes and one `getrandom`
//! call.
//!
//! Run with `cargo bench -p rumor-benches --bench seal`. Each iteration
//! handles one message; the plaintext sealed is the envelope's encoding.

use std::cell::Cell;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use aes_gcm::Aes256Gcm;
use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rumor_seal::{Cipher, DEFAULT_LABEL, Keyring, Sealer, SealerConfig, generate_key};
use rumor_wire::{
    Envelope, Gossip, Incarnation, MemberState, MemberUpdate, NodeId, Version, decode, encode_into,
};

const NOW: u64 = 1_763_900_000_000;

fn node(i: u32) -> NodeId {
    let [a, b, c, d] = (0x0a00_0000 + i).to_be_bytes();
    NodeId::new(
        SocketAddr::from(([a, b, c, d], 4000)),
        Version(1_763_900_000_000 + u64::from(i)),
    )
}

fn updates(count: u32) -> Envelope {
    Envelope::new(
        node(0).addr,
        Gossip::Updates {
            sender: node(0),
            updates: (0..count)
                .map(|i| MemberUpdate {
                    node: node(i + 1),
                    state: if i % 3 == 0 {
                        MemberState::Suspect
                    } else {
                        MemberState::Alive
                    },
                    incarnation: Incarnation(u64::from(i % 7)),
                })
                .collect(),
            extras: Default::default(),
        },
    )
}

fn encoded_len(envelope: &Envelope) -> usize {
    let mut buf = vec![0u8; 1 << 16];
    encode_into(envelope, &mut buf).expect("benchmark envelopes fit 64 KiB")
}

/// A one-update gossip message (ping-sized) and the largest update list
/// that encodes to at most 1,400 bytes (a full datagram).
fn messages() -> Vec<(&'static str, Envelope)> {
    let full = (1..200)
        .take_while(|&n| encoded_len(&updates(n)) <= 1400)
        .last()
        .expect("one update fits 1,400 bytes");
    vec![("ping", updates(1)), ("datagram_1400", updates(full))]
}

fn seal(c: &mut Criterion) {
    let keyring = Keyring::new(generate_key().expect("OS randomness"));
    let sealers: Vec<Sealer> = Cipher::ALL
        .into_iter()
        .map(|cipher| {
            Sealer::new(keyring.clone(), DEFAULT_LABEL, SealerConfig::default())
                .expect("default label is valid")
                .sealing_with(cipher)
        })
        .collect();
    let key = [0x42u8; 32];
    let xchacha = XChaCha20Poly1305::new(&key.into());
    let aes = Aes256Gcm::new(&key.into());
    let aad = [0x17u8; 41 + DEFAULT_LABEL.len()];
    // One clock for every group: the sealers' replay caches only rotate
    // forward, so a clock restarting per group would let them fill up.
    let clock = Cell::new(NOW);
    println!("seal: Cipher::preferred() here is {}", Cipher::preferred());

    for (name, envelope) in messages() {
        let mut buf = vec![0u8; 1 << 16];
        let len = encode_into(&envelope, &mut buf).expect("fits");
        let encoded = buf[..len].to_vec();
        assert_eq!(decode(&encoded).expect("own encoding decodes"), envelope);
        println!(
            "seal/{name}: {len} bytes encoded, {} sealed with aes256gcm, {} with xchacha20poly1305",
            len + Cipher::Aes256Gcm.overhead(),
            len + Cipher::XChaCha20Poly1305.overhead(),
        );

        let mut group = c.benchmark_group(format!("seal/{name}"));
        group.throughput(Throughput::Bytes(len as u64));

        group.bench_function("clear_encode", |b| {
            b.iter(|| encode_into(black_box(&envelope), black_box(&mut buf[..])))
        });
        group.bench_function("clear_decode", |b| b.iter(|| decode(black_box(&encoded))));

        for sealer in &sealers {
            let cipher = sealer.cipher();
            let mut packet = Vec::with_capacity(len + sealer.overhead());
            group.bench_function(format!("seal_{cipher}"), |b| {
                b.iter(|| {
                    packet.clear();
                    sealer
                        .seal_into(black_box(&encoded), &mut packet, NOW)
                        .expect("seals");
                    black_box(&packet);
                })
            });

            // Every open must be of a packet not seen before, as in real
            // traffic; the clock advances 1 ms per packet so the replay
            // cache rotates at its working size (30,000 nonces per
            // generation) instead of filling up. The packets are sealed,
            // and dropped, outside the timed routine.
            let fresh = || {
                let now = clock.get() + 1;
                clock.set(now);
                let mut packet = Vec::with_capacity(len + sealer.overhead());
                sealer.seal_into(&encoded, &mut packet, now).expect("seals");
                (packet, now)
            };
            let mut plaintext = Vec::with_capacity(len);
            group.bench_function(format!("open_{cipher}"), |b| {
                b.iter_batched_ref(
                    fresh,
                    |(packet, now)| {
                        plaintext.clear();
                        sealer
                            .open_into(black_box(packet), &mut plaintext, *now)
                            .expect("a fresh packet opens");
                        black_box(&plaintext);
                    },
                    BatchSize::SmallInput,
                )
            });
            group.bench_function(format!("open_in_place_{cipher}"), |b| {
                b.iter_batched_ref(
                    fresh,
                    |(packet, now)| {
                        let at = sealer
                            .open_in_place(black_box(packet), *now)
                            .expect("a fresh packet opens");
                        black_box(&packet[at]);
                    },
                    BatchSize::SmallInput,
                )
            });

            // The send path: encode, then seal (a copy into the packet, as
            // the agent does), or encode behind the header's room and seal
            // there.
            group.bench_function(format!("encode_then_seal_{cipher}"), |b| {
                b.iter(|| {
                    let len = encode_into(black_box(&envelope), &mut buf[..]).expect("fits");
                    packet.clear();
                    sealer
                        .seal_into(&buf[..len], &mut packet, NOW)
                        .expect("seals");
                    black_box(&packet);
                })
            });
            // The encoding is `len` bytes every time, so the buffer only
            // ever needs that much behind the room: sealing appends the tag,
            // and truncating it away writes nothing.
            let room = sealer.header_len();
            let mut in_place = vec![0u8; room + len];
            group.bench_function(format!("encode_then_seal_in_place_{cipher}"), |b| {
                b.iter(|| {
                    in_place.truncate(room + len);
                    let len =
                        encode_into(black_box(&envelope), &mut in_place[room..]).expect("fits");
                    in_place.truncate(room + len);
                    sealer.seal_in_place(&mut in_place, 0, NOW).expect("seals");
                    black_box(&in_place);
                })
            });

            // The receive path: open, then decode what opened.
            group.bench_function(format!("open_then_decode_{cipher}"), |b| {
                b.iter_batched_ref(
                    fresh,
                    |(packet, now)| {
                        plaintext.clear();
                        sealer
                            .open_into(black_box(packet), &mut plaintext, *now)
                            .expect("a fresh packet opens");
                        decode(&plaintext).expect("decodes")
                    },
                    BatchSize::SmallInput,
                )
            });
        }

        let mut in_place = encoded.clone();
        group.bench_function("bare_xchacha20poly1305", |b| {
            b.iter(|| {
                let tag = xchacha
                    .encrypt_inout_detached(
                        &[7u8; 24].into(),
                        black_box(&aad),
                        in_place.as_mut_slice().into(),
                    )
                    .expect("seals");
                black_box(tag)
            })
        });
        group.bench_function("bare_aes256gcm", |b| {
            b.iter(|| {
                let tag = aes
                    .encrypt_inout_detached(
                        &[7u8; 12].into(),
                        black_box(&aad),
                        in_place.as_mut_slice().into(),
                    )
                    .expect("seals");
                black_box(tag)
            })
        });
        group.finish();
    }

    let mut group = c.benchmark_group("seal/nonce");
    group.bench_function("getrandom_24_bytes", |b| {
        let mut nonce = [0u8; 24];
        b.iter(|| {
            getrandom::fill(black_box(&mut nonce)).expect("OS randomness");
            black_box(nonce)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = seal
}
criterion_main!(benches);
