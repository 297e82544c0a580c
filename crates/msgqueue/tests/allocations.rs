//! No heap allocation per datagram once the arenas are warm, counted by a
//! global allocator that counts on the threads under test only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use rumor_msgqueue::{Limits, channel};

/// Forwards to the system allocator, counting allocations (not frees) made
/// by threads that turned counting on.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note_allocation() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting touches only an atomic and a
// const thread-local, neither of which allocates or unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's guarantees about `layout` pass through to System.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: `ptr` was allocated by this allocator, i.e. by System, with
        // `layout`; the caller's guarantees about `new_size` pass through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts allocations on this thread from now on.
fn count_this_thread() {
    COUNTING.with(|c| c.set(true));
}

/// parking_lot creates a thread's parking data (and may grow its global
/// table) the first time the thread parks; do that before counting.
fn prime_parking() {
    let lock = parking_lot::Mutex::new(());
    let condvar = parking_lot::Condvar::new();
    let mut guard = lock.lock();
    let _ = condvar.wait_for(&mut guard, Duration::from_millis(1));
}

/// The `i`th datagram of a round: sizes from 1 to 1,400 bytes, the same in
/// every round (so one full round is the most an arena ever holds), contents
/// that differ from round to round.
fn datagram(round: usize, i: usize, out: &mut [u8; 1400]) -> &[u8] {
    let len = 1 + (i * 577) % 1400;
    out[..len].fill((i + round) as u8);
    &out[..len]
}

const PER_ROUND: usize = 256;
const WARM_ROUNDS: usize = 4;
const COUNTED_ROUNDS: usize = 200;

#[test]
fn no_allocation_per_datagram_in_steady_state() {
    let from = SocketAddr::from(([127, 0, 0, 1], 9000));

    // Same thread: push a round, swap, read it.
    let (producer, mut consumer) = channel(Limits::default());
    let mut buf = [0u8; 1400];
    let mut round = |r: usize| {
        for i in 0..PER_ROUND {
            producer.push(from, datagram(r, i, &mut buf)).expect("room");
        }
        let batch = consumer.swap();
        assert_eq!(batch.len(), PER_ROUND);
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, (_, d))| d[0] == (i + r) as u8)
        );
    };
    // Every round is the same size, so a few rounds warm both arenas.
    for r in 0..WARM_ROUNDS {
        round(r);
    }
    count_this_thread();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for r in WARM_ROUNDS..WARM_ROUNDS + COUNTED_ROUNDS {
        round(r);
    }
    let same_thread = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        same_thread,
        0,
        "allocations over {} datagrams",
        COUNTED_ROUNDS * PER_ROUND
    );

    // Two threads: a producer thread and this consumer, with waits, in rounds.
    let (producer, mut consumer) = channel(Limits::default());
    let round_done = Barrier::new(2);
    // While warming, the consumer swaps only whole rounds, so that both
    // arenas grow to the most they will ever hold; then it swaps whenever
    // something is queued, taking rounds in pieces.
    let warm_round_pushed = Barrier::new(2);
    let counting_from = WARM_ROUNDS;
    let before = thread::scope(|scope| {
        let round_done = &round_done;
        let warm_round_pushed = &warm_round_pushed;
        scope.spawn(move || {
            prime_parking();
            let mut buf = [0u8; 1400];
            for r in 0..WARM_ROUNDS + COUNTED_ROUNDS {
                if r == counting_from {
                    count_this_thread();
                }
                for i in 0..PER_ROUND {
                    producer.push(from, datagram(r, i, &mut buf)).expect("room");
                }
                if r < counting_from {
                    warm_round_pushed.wait();
                }
                round_done.wait();
            }
        });
        prime_parking();
        let mut before = 0;
        for r in 0..WARM_ROUNDS + COUNTED_ROUNDS {
            if r == counting_from {
                before = ALLOCATIONS.load(Ordering::Relaxed);
            }
            if r < counting_from {
                warm_round_pushed.wait();
            }
            let mut received = 0;
            while received < PER_ROUND {
                assert!(consumer.wait(Duration::from_secs(60)), "producer stalled");
                let batch = consumer.swap();
                for (i, (_, d)) in batch.iter().enumerate() {
                    assert_eq!(d[0], (received + i + r) as u8);
                }
                received += batch.len();
            }
            round_done.wait();
        }
        before
    });
    let two_threads = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        two_threads,
        0,
        "allocations over {} datagrams",
        COUNTED_ROUNDS * PER_ROUND
    );
}
