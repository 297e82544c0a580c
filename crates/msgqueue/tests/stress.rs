//! Several producer threads against one consumer: exact counts below and
//! above the bounds, intact payloads in per-producer order, no deadlock.

use std::net::SocketAddr;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rumor_msgqueue::{Consumer, Limits, Producer, channel};

const PRODUCERS: usize = 4;

fn source(producer: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000 + producer as u16))
}

/// A datagram that names its producer and sequence number and whose every
/// byte can be checked; its length varies with the sequence number.
fn payload(producer: usize, seq: u32, out: &mut Vec<u8>) {
    out.clear();
    out.push(producer as u8);
    out.extend_from_slice(&seq.to_le_bytes());
    let filler = 3 + (seq as usize * 7) % 300;
    out.extend((0..filler).map(|i| (producer as u8) ^ (seq as u8) ^ (i as u8)));
}

/// Checks a received datagram and returns its producer and sequence number.
fn check(from: SocketAddr, datagram: &[u8]) -> (usize, u32) {
    let producer = datagram[0] as usize;
    let seq = u32::from_le_bytes(datagram[1..5].try_into().expect("4 bytes"));
    assert_eq!(
        from,
        source(producer),
        "source address travels with its datagram"
    );
    let mut expected = Vec::new();
    payload(producer, seq, &mut expected);
    assert_eq!(
        datagram,
        &expected[..],
        "payload of {producer}/{seq} intact"
    );
    (producer, seq)
}

/// Runs `PRODUCERS` threads, each pushing `per_producer` datagrams, all
/// released together; returns, per producer, which sequence numbers were
/// accepted. The consumer does not swap meanwhile.
fn fill_while_parked(producer: &Producer, per_producer: u32) -> Vec<Vec<bool>> {
    let start = Barrier::new(PRODUCERS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|id| {
                let producer = producer.clone();
                let start = &start;
                scope.spawn(move || {
                    let mut buf = Vec::new();
                    start.wait();
                    (0..per_producer)
                        .map(|seq| {
                            payload(id, seq, &mut buf);
                            producer.push(source(id), &buf).is_ok()
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("producer thread does not panic"))
            .collect()
    })
}

/// Swaps once and checks that the batch holds exactly the accepted
/// datagrams, each producer's in the order it pushed them.
fn drain_exactly(consumer: &mut Consumer, accepted: &[Vec<bool>]) -> usize {
    let batch = consumer.swap();
    let mut received: Vec<Vec<u32>> = vec![Vec::new(); PRODUCERS];
    for (from, datagram) in batch.iter() {
        let (producer, seq) = check(from, datagram);
        received[producer].push(seq);
    }
    for (producer, oks) in accepted.iter().enumerate() {
        let expected: Vec<u32> = (0..oks.len() as u32).filter(|&s| oks[s as usize]).collect();
        assert_eq!(received[producer], expected, "producer {producer}");
    }
    batch.len()
}

#[test]
fn below_the_bounds_nothing_is_lost() {
    let (producer, mut consumer) = channel(Limits::default());
    let accepted = fill_while_parked(&producer, 2_000);
    assert!(accepted.iter().flatten().all(|&ok| ok));
    assert_eq!(drain_exactly(&mut consumer, &accepted), PRODUCERS * 2_000);
    let stats = consumer.stats();
    assert_eq!((stats.pushed, stats.dropped), (8_000, 0));
    assert_eq!(stats.largest_batch, 8_000);
}

#[test]
fn above_the_message_bound_drops_are_counted_exactly() {
    let limits = Limits::new(usize::MAX, 2_500);
    let (producer, mut consumer) = channel(limits);
    let accepted = fill_while_parked(&producer, 1_000);
    let oks = accepted.iter().flatten().filter(|&&ok| ok).count();
    assert_eq!(oks, 2_500);
    assert_eq!(drain_exactly(&mut consumer, &accepted), 2_500);
    let stats = consumer.stats();
    assert_eq!((stats.pushed, stats.dropped), (2_500, 1_500));

    // Room comes back after the swap, and the count goes on exactly.
    let accepted = fill_while_parked(&producer, 1_000);
    assert_eq!(drain_exactly(&mut consumer, &accepted), 2_500);
    let stats = consumer.stats();
    assert_eq!((stats.pushed, stats.dropped), (5_000, 3_000));
}

#[test]
fn above_the_byte_bound_drops_are_counted_exactly() {
    // Sizes vary, so the bound is half of all bytes attempted and the check
    // is against the exact bytes of the datagrams each producer got in.
    let per_producer = 1_000u32;
    let mut buf = Vec::new();
    let size = |seq| {
        let mut b = Vec::new();
        payload(0, seq, &mut b);
        b.len()
    };
    let all_bytes: usize = (0..per_producer).map(size).sum::<usize>() * PRODUCERS;
    let limits = Limits::new(all_bytes / 2, usize::MAX);
    let (producer, mut consumer) = channel(limits);
    let accepted = fill_while_parked(&producer, per_producer);
    let queued: usize = accepted
        .iter()
        .enumerate()
        .flat_map(|(id, oks)| {
            oks.iter()
                .enumerate()
                .filter(|(_, ok)| **ok)
                .map(move |(seq, _)| (id, seq))
        })
        .map(|(id, seq)| {
            payload(id, seq as u32, &mut buf);
            buf.len()
        })
        .sum();
    assert!(queued <= limits.max_bytes);
    // Every datagram is at most 308 bytes: a refusal means the bound was
    // within one datagram's reach.
    assert!(queued > limits.max_bytes - 308);
    let oks = accepted.iter().flatten().filter(|&&ok| ok).count();
    assert_eq!(drain_exactly(&mut consumer, &accepted), oks);
    let stats = consumer.stats();
    assert_eq!(stats.pushed, oks as u64);
    assert_eq!(
        stats.pushed + stats.dropped,
        u64::from(per_producer) * PRODUCERS as u64
    );
    assert!(stats.dropped > 0);
}

#[test]
fn concurrent_producers_and_consumer_lose_nothing_unaccounted() {
    let per_producer = 20_000u32;
    // Small bounds, so that drops happen while the consumer runs.
    let limits = Limits::new(16 * 1024, 64);
    let (producer, mut consumer) = channel(limits);
    let finished = AtomicUsize::new(0);
    let watchdog = Instant::now() + Duration::from_secs(120);

    let (accepted, received) = thread::scope(|scope| {
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|id| {
                let producer = producer.clone();
                let finished = &finished;
                scope.spawn(move || {
                    let mut buf = Vec::new();
                    let oks: Vec<bool> = (0..per_producer)
                        .map(|seq| {
                            payload(id, seq, &mut buf);
                            producer.push(source(id), &buf).is_ok()
                        })
                        .collect();
                    finished.fetch_add(1, Ordering::Release);
                    oks
                })
            })
            .collect();

        let mut received: Vec<Vec<u32>> = vec![Vec::new(); PRODUCERS];
        loop {
            assert!(Instant::now() < watchdog, "consumer stalled: deadlock?");
            // Read the flag before swapping: if every producer had finished
            // and the swap is then empty, nothing more can arrive.
            let all_done = finished.load(Ordering::Acquire) == PRODUCERS;
            // The timeout only lets the loop see the flag; wake-ups are events.
            consumer.wait(Duration::from_millis(20));
            let batch = consumer.swap();
            if batch.is_empty() && all_done {
                break;
            }
            for (from, datagram) in batch.iter() {
                let (producer, seq) = check(from, datagram);
                if let Some(&last) = received[producer].last() {
                    assert!(seq > last, "producer {producer}: {seq} after {last}");
                }
                received[producer].push(seq);
            }
        }
        let accepted: Vec<Vec<bool>> = handles
            .into_iter()
            .map(|h| h.join().expect("producer thread does not panic"))
            .collect();
        (accepted, received)
    });

    for (producer, oks) in accepted.iter().enumerate() {
        let expected: Vec<u32> = (0..per_producer).filter(|&s| oks[s as usize]).collect();
        assert_eq!(received[producer], expected, "producer {producer}");
    }
    let oks = accepted.iter().flatten().filter(|&&ok| ok).count() as u64;
    let stats = consumer.stats();
    assert_eq!(stats.pushed, oks);
    assert_eq!(
        stats.pushed + stats.dropped,
        u64::from(per_producer) * PRODUCERS as u64
    );
    assert!(stats.largest_batch <= 64);
}
