//! The consuming side: waits for datagrams and swaps the buffers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::arena::Arena;
use crate::channel::Shared;
use crate::{Batch, Stats};

/// Takes batches of datagrams out of a queue. There is exactly one per
/// queue; it is `Send`, so it may move to the thread that consumes.
#[derive(Debug)]
pub struct Consumer {
    shared: Arc<Shared>,
    /// The buffer the consumer reads; empty between batches.
    front: Arena,
    swaps: u64,
    largest_batch: u64,
}

impl Consumer {
    pub(crate) fn new(shared: Arc<Shared>) -> Consumer {
        Consumer {
            shared,
            front: Arena::default(),
            swaps: 0,
            largest_batch: 0,
        }
    }

    /// Waits until something is queued or `timeout` passed; true if
    /// something is queued. Returns at once if something already is.
    ///
    /// Sleeps on the condition variable until something is queued or
    /// `timeout` passes; never spins or yields. (A spin before sleeping
    /// caught bursts awake, but each pause instruction costs over a hundred
    /// cycles, and an agent idling between datagrams paid it every time:
    /// a percent of a 300-agent host went to spinning.)
    pub fn wait(&mut self, timeout: Duration) -> bool {
        if self.shared.queued.load(Ordering::Acquire) {
            return true;
        }
        let start = Instant::now();
        let mut state = self.shared.state.lock();
        // A timeout too large to represent means "no timeout".
        let deadline = start.checked_add(timeout);
        while state.back.is_empty() {
            if timeout.is_zero() {
                return false;
            }
            state.consumer_sleeping = true;
            let timed_out = match deadline {
                Some(deadline) => self
                    .shared
                    .ready
                    .wait_until(&mut state, deadline)
                    .timed_out(),
                None => {
                    self.shared.ready.wait(&mut state);
                    false
                }
            };
            state.consumer_sleeping = false;
            if timed_out {
                return !state.back.is_empty();
            }
        }
        true
    }

    /// Swaps front and back in O(1) under the lock; the batch is then read
    /// without the lock while producers fill the other buffer.
    ///
    /// Never blocks beyond that lock; an empty batch means nothing was
    /// queued since the previous swap.
    pub fn swap(&mut self) -> Batch<'_> {
        // Normally a no-op: the previous batch reset the front when it was
        // dropped. Only a leaked batch (mem::forget) leaves datagrams here,
        // and they must not be handed out twice.
        if !self.front.is_empty() {
            self.front.reset();
        }
        {
            let mut state = self.shared.state.lock();
            std::mem::swap(&mut state.back, &mut self.front);
            self.shared.queued.store(false, Ordering::Relaxed);
        }
        self.swaps += 1;
        self.largest_batch = self.largest_batch.max(self.front.len() as u64);
        Batch::new(&mut self.front)
    }

    /// The queue's counters so far.
    pub fn stats(&self) -> Stats {
        let state = self.shared.state.lock();
        Stats {
            pushed: state.pushed,
            dropped: state.dropped,
            swaps: self.swaps,
            largest_batch: self.largest_batch,
        }
    }

    /// Byte and record capacities of the front and back arenas.
    #[cfg(test)]
    fn capacities(&self) -> [(usize, usize); 2] {
        let state = self.shared.state.lock();
        [self.front.capacity(), state.back.capacity()]
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::thread;

    use crate::{Full, Limits, channel};

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn collect(batch: &Batch<'_>) -> Vec<(SocketAddr, Vec<u8>)> {
        batch.iter().map(|(from, d)| (from, d.to_vec())).collect()
    }

    #[test]
    fn producers_are_send_and_sync_and_the_consumer_is_send() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<crate::Producer>();
        send::<Consumer>();
    }

    #[test]
    fn swap_hands_over_what_was_pushed_in_order() {
        let (producer, mut consumer) = channel(Limits::default());
        producer.push(addr(1), b"first").unwrap();
        producer.push(addr(2), b"second").unwrap();
        let batch = consumer.swap();
        assert_eq!(batch.len(), 2);
        assert!(!batch.is_empty());
        assert_eq!(
            collect(&batch),
            vec![(addr(1), b"first".to_vec()), (addr(2), b"second".to_vec())]
        );
    }

    #[test]
    fn each_datagram_is_handed_over_once() {
        let (producer, mut consumer) = channel(Limits::default());
        producer.push(addr(1), b"a").unwrap();
        assert_eq!(consumer.swap().len(), 1);
        assert!(consumer.swap().is_empty());
        producer.push(addr(1), b"b").unwrap();
        let batch = consumer.swap();
        assert_eq!(collect(&batch), vec![(addr(1), b"b".to_vec())]);
    }

    #[test]
    fn a_leaked_batch_is_not_handed_out_again() {
        let (producer, mut consumer) = channel(Limits::default());
        producer.push(addr(1), b"a").unwrap();
        std::mem::forget(consumer.swap());
        producer.push(addr(1), b"b").unwrap();
        let batch = consumer.swap();
        assert_eq!(collect(&batch), vec![(addr(1), b"b".to_vec())]);
        drop(batch);
        assert!(consumer.swap().is_empty());
    }

    #[test]
    fn drops_the_newest_past_the_message_bound() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_messages: 2,
        };
        let (producer, mut consumer) = channel(limits);
        producer.push(addr(1), b"a").unwrap();
        producer.push(addr(2), b"b").unwrap();
        assert_eq!(
            producer.push(addr(3), b"c"),
            Err(Full::Messages { limit: 2 })
        );
        let batch = consumer.swap();
        assert_eq!(
            collect(&batch),
            vec![(addr(1), b"a".to_vec()), (addr(2), b"b".to_vec())]
        );
        drop(batch);
        // The bound applies to what is queued, so room comes back after a swap.
        producer.push(addr(4), b"d").unwrap();
        let stats = consumer.stats();
        assert_eq!((stats.pushed, stats.dropped), (3, 1));
    }

    #[test]
    fn drops_the_newest_past_the_byte_bound_but_admits_a_smaller_one() {
        let limits = Limits {
            max_bytes: 10,
            max_messages: 100,
        };
        let (producer, mut consumer) = channel(limits);
        producer.push(addr(1), &[1; 6]).unwrap();
        assert_eq!(
            producer.push(addr(2), &[2; 5]),
            Err(Full::Bytes {
                queued: 6,
                len: 5,
                limit: 10
            })
        );
        producer.push(addr(3), &[3; 4]).unwrap();
        assert!(producer.push(addr(4), &[]).is_ok());
        assert!(producer.push(addr(5), &[5]).is_err());
        let batch = consumer.swap();
        let sources: Vec<_> = batch.iter().map(|(from, _)| from).collect();
        assert_eq!(sources, vec![addr(1), addr(3), addr(4)]);
        drop(batch);
        assert_eq!(consumer.stats().dropped, 2);
    }

    #[test]
    fn a_datagram_larger_than_the_byte_bound_is_always_dropped() {
        let limits = Limits {
            max_bytes: 8,
            max_messages: 100,
        };
        let (producer, mut consumer) = channel(limits);
        assert!(producer.push(addr(1), &[0; 9]).is_err());
        assert!(consumer.swap().is_empty());
        assert_eq!(consumer.stats().dropped, 1);
    }

    #[test]
    fn push_batch_admits_each_datagram_like_push() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_messages: 3,
        };
        let (producer, mut consumer) = channel(limits);
        let payloads: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
        let queued = producer.push_batch(
            payloads
                .iter()
                .enumerate()
                .map(|(i, p)| (addr(i as u16), *p)),
        );
        assert_eq!(queued, 3);
        let batch = consumer.swap();
        assert_eq!(
            collect(&batch),
            vec![
                (addr(0), b"a".to_vec()),
                (addr(1), b"b".to_vec()),
                (addr(2), b"c".to_vec())
            ]
        );
        drop(batch);
        let stats = consumer.stats();
        assert_eq!((stats.pushed, stats.dropped), (3, 1));
    }

    #[test]
    fn stats_count_swaps_and_the_largest_batch() {
        let (producer, mut consumer) = channel(Limits::default());
        for i in 0..5u8 {
            producer.push(addr(1), &[i]).unwrap();
        }
        drop(consumer.swap());
        producer.push(addr(1), b"x").unwrap();
        drop(consumer.swap());
        drop(consumer.swap());
        assert_eq!(
            consumer.stats(),
            Stats {
                pushed: 6,
                dropped: 0,
                swaps: 3,
                largest_batch: 5
            }
        );
    }

    #[test]
    fn wait_times_out_when_nothing_is_queued() {
        let (_producer, mut consumer) = channel(Limits::default());
        assert!(!consumer.wait(Duration::from_millis(5)));
        assert!(!consumer.wait(Duration::ZERO));
    }

    #[test]
    fn wait_times_out_again_once_a_swap_took_everything() {
        let (producer, mut consumer) = channel(Limits::default());
        producer.push(addr(1), b"x").unwrap();
        assert!(consumer.wait(Duration::ZERO));
        assert_eq!(consumer.swap().len(), 1);
        assert!(!consumer.wait(Duration::ZERO));
        assert!(!consumer.wait(Duration::from_millis(5)));
    }

    #[test]
    fn wait_returns_at_once_when_something_is_queued() {
        let (producer, mut consumer) = channel(Limits::default());
        producer.push(addr(1), b"x").unwrap();
        // Would block the test for an hour if it waited.
        assert!(consumer.wait(Duration::from_secs(3600)));
        assert!(consumer.wait(Duration::MAX));
    }

    #[test]
    fn wait_wakes_when_a_producer_pushes() {
        let (producer, mut consumer) = channel(Limits::default());
        let pusher = thread::spawn(move || {
            // Push only once the consumer sleeps: this is the case the
            // notification exists for.
            while !producer.consumer_sleeping() {
                thread::yield_now();
            }
            producer.push(addr(9), b"wake").unwrap();
        });
        // Without the notify the wait would sleep out its whole timeout; the
        // margin is wide enough for any scheduler.
        let started = Instant::now();
        assert!(consumer.wait(Duration::from_secs(30)));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "woken by the push"
        );
        pusher.join().expect("pusher thread does not panic");
        assert_eq!(collect(&consumer.swap()), vec![(addr(9), b"wake".to_vec())]);
    }

    #[test]
    fn arena_capacity_is_reused_across_swaps() {
        let (producer, mut consumer) = channel(Limits::default());
        let round = |consumer: &mut Consumer| {
            for i in 0..200u16 {
                producer.push(addr(i), &[i as u8; 700]).unwrap();
            }
            let batch = consumer.swap();
            assert_eq!(batch.len(), 200);
            assert!(batch.iter().all(|(from, d)| d == [from.port() as u8; 700]));
        };
        // Two rounds warm both buffers of the double buffer.
        round(&mut consumer);
        round(&mut consumer);
        let warm = consumer.capacities();
        assert!(
            warm.iter()
                .all(|&(bytes, records)| bytes >= 140_000 && records >= 200)
        );
        for _ in 0..50 {
            round(&mut consumer);
        }
        assert_eq!(consumer.capacities(), warm);
    }
}
