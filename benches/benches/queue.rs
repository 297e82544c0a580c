//! One producer thread hands datagrams to one consumer thread: MsgQueue
//! beside a bounded crossbeam channel, std's `sync_channel`, and
//! crossbeam-queue's `ArrayQueue` and `SegQueue`, with the same payloads in
//! the same run.
//!
//! Run with `cargo bench -p rumor-benches --bench queue`.
//!
//! The producer plays a UDP listener that receives `batch` datagrams at a
//! time (as `recvmmsg` returns them) into buffers of its own, and hands each
//! one over the best way the queue's API allows:
//!
//! - `msgqueue_batch`: one `push_batch` (one lock) per burst, copying into
//!   the arena;
//! - `msgqueue_push`: one `push` (one lock) per datagram;
//! - the channels and queues: one owned `Vec<u8>` copy per datagram (the
//!   allocation an owned hand-over needs), sent one at a time.
//!
//! The consumer takes whatever is queued at each wake-up (a swap, or a
//! blocking receive followed by non-blocking ones) and reads every datagram
//! (its sequence number and length). Every bounded queue holds
//! [`CAPACITY`] datagrams; when it is full the producer waits (the channels
//! block, the others retry after yielding). Each run checks that every
//! datagram arrived exactly once.
//!
//! Before timing, each configuration runs once more to count heap
//! allocations per datagram after warm-up with a counting global allocator,
//! and prints them with the mean number of datagrams per consumer wake-up.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::{ArrayQueue, SegQueue};
use rumor_msgqueue::{Limits, channel};

/// Counts every allocation and reallocation; frees are not counted.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting is one relaxed atomic add,
// which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's guarantees about `layout` pass through to System.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from System with `layout`; the caller's
        // guarantees about `new_size` pass through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Datagrams every bounded queue holds.
const CAPACITY: usize = 1024;
const SIZES: [usize; 3] = [64, 512, 1400];

/// One configuration of one run.
#[derive(Clone, Copy)]
struct Run {
    size: usize,
    batch: usize,
    bursts: u64,
    /// Bursts before allocations start being counted.
    warm_bursts: u64,
}

impl Run {
    fn messages(&self) -> u64 {
        self.bursts * self.batch as u64
    }
}

/// What one run measured.
struct Outcome {
    elapsed: Duration,
    /// Allocations after the warm bursts, by both threads.
    allocations: u64,
    /// Consumer wake-ups (swaps, or blocking receives).
    wakeups: u64,
}

/// The producer's receive buffers: `batch` datagrams of `size` bytes.
fn receive_buffers(run: &Run) -> Vec<Vec<u8>> {
    (0..run.batch).map(|i| vec![i as u8; run.size]).collect()
}

/// Stamps a sequence number into a received datagram.
fn stamp(datagram: &mut [u8], seq: u64) {
    datagram[..8].copy_from_slice(&seq.to_le_bytes());
}

/// What the consumer does with each datagram: reads its sequence number and
/// length, as a decoder would start to.
fn read(datagram: &[u8]) -> u64 {
    let seq = u64::from_le_bytes(
        datagram[..8]
            .try_into()
            .expect("datagrams are at least 8 bytes"),
    );
    seq + datagram.len() as u64
}

/// The sum `read` yields over a whole run, to check that every datagram
/// arrived once.
fn expected_sum(run: &Run) -> u64 {
    let n = run.messages();
    n * (n - 1) / 2 + n * run.size as u64
}

/// Makes this thread's parking_lot data exist before counting (it is
/// created, and its table may grow, the first time a thread parks).
fn prime_parking() {
    let lock = parking_lot::Mutex::new(());
    let condvar = parking_lot::Condvar::new();
    let mut guard = lock.lock();
    let _ = condvar.wait_for(&mut guard, Duration::from_micros(1));
}

fn pause(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

fn source() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4000))
}

/// Drives a run: `produce(buffers, seq)` hands over one burst, `consume()`
/// runs on its own thread and returns the sum of `read` and its wake-ups.
fn drive<P, C>(run: &Run, mut produce: P, consume: C) -> Outcome
where
    P: FnMut(&mut [Vec<u8>]),
    C: FnOnce() -> (u64, u64) + Send,
{
    let mut buffers = receive_buffers(run);
    prime_parking();
    let start = Instant::now();
    let (before, (sum, wakeups)) = thread::scope(|scope| {
        let consumer = scope.spawn(consume);
        let mut before = ALLOCATIONS.load(Ordering::Relaxed);
        let mut seq = 0u64;
        for burst in 0..run.bursts {
            if burst == run.warm_bursts {
                before = ALLOCATIONS.load(Ordering::Relaxed);
            }
            for buffer in buffers.iter_mut() {
                stamp(buffer, seq);
                seq += 1;
            }
            produce(&mut buffers);
        }
        (
            before,
            consumer.join().expect("consumer thread does not panic"),
        )
    });
    let elapsed = start.elapsed();
    assert_eq!(
        sum,
        expected_sum(run),
        "every datagram arrives exactly once"
    );
    Outcome {
        elapsed,
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - before,
        wakeups,
    }
}

fn msgqueue(run: &Run, batched: bool) -> Outcome {
    let limits = Limits::new(CAPACITY * run.size, CAPACITY);
    let (producer, mut consumer) = channel(limits);
    let total = run.messages();
    let from = source();
    drive(
        run,
        |buffers| {
            let mut sent = 0;
            let mut spins = 0;
            while sent < buffers.len() {
                if batched {
                    // Datagrams are all one size, so the refused ones are
                    // always the tail of the burst: resend from there.
                    sent += producer.push_batch(buffers[sent..].iter().map(|b| (from, &b[..])));
                } else if producer.push(from, &buffers[sent]).is_ok() {
                    sent += 1;
                }
                if sent < buffers.len() {
                    pause(&mut spins);
                }
            }
        },
        move || {
            prime_parking();
            let (mut received, mut sum, mut wakeups) = (0, 0, 0);
            while received < total {
                consumer.wait(Duration::from_secs(60));
                let batch = consumer.swap();
                wakeups += 1;
                for (_, datagram) in batch.iter() {
                    sum += read(datagram);
                }
                received += batch.len() as u64;
            }
            (sum, wakeups)
        },
    )
}

fn crossbeam_bounded(run: &Run) -> Outcome {
    let (tx, rx) = crossbeam_channel::bounded::<(SocketAddr, Vec<u8>)>(CAPACITY);
    let total = run.messages();
    let from = source();
    drive(
        run,
        |buffers| {
            for buffer in buffers.iter() {
                tx.send((from, buffer.clone()))
                    .expect("the consumer outlives the run");
            }
        },
        move || {
            let (mut received, mut sum, mut wakeups) = (0, 0, 0);
            while received < total {
                let (_, datagram) = rx.recv().expect("the producer outlives the run");
                wakeups += 1;
                sum += read(&datagram);
                received += 1;
                for (_, datagram) in rx.try_iter() {
                    sum += read(&datagram);
                    received += 1;
                }
            }
            (sum, wakeups)
        },
    )
}

fn std_sync_channel(run: &Run) -> Outcome {
    let (tx, rx) = mpsc::sync_channel::<(SocketAddr, Vec<u8>)>(CAPACITY);
    let total = run.messages();
    let from = source();
    drive(
        run,
        |buffers| {
            for buffer in buffers.iter() {
                tx.send((from, buffer.clone()))
                    .expect("the consumer outlives the run");
            }
        },
        move || {
            let (mut received, mut sum, mut wakeups) = (0, 0, 0);
            while received < total {
                let (_, datagram) = rx.recv().expect("the producer outlives the run");
                wakeups += 1;
                sum += read(&datagram);
                received += 1;
                for (_, datagram) in rx.try_iter() {
                    sum += read(&datagram);
                    received += 1;
                }
            }
            (sum, wakeups)
        },
    )
}

fn array_queue(run: &Run) -> Outcome {
    let queue = ArrayQueue::<(SocketAddr, Vec<u8>)>::new(CAPACITY);
    let total = run.messages();
    let from = source();
    let queue = &queue;
    drive(
        run,
        |buffers| {
            for buffer in buffers.iter() {
                let mut item = (from, buffer.clone());
                let mut spins = 0;
                while let Err(back) = queue.push(item) {
                    item = back;
                    pause(&mut spins);
                }
            }
        },
        move || {
            let (mut received, mut sum, mut wakeups) = (0, 0, 0);
            let mut spins = 0;
            while received < total {
                let Some((_, datagram)) = queue.pop() else {
                    pause(&mut spins);
                    continue;
                };
                spins = 0;
                wakeups += 1;
                sum += read(&datagram);
                received += 1;
                while let Some((_, datagram)) = queue.pop() {
                    sum += read(&datagram);
                    received += 1;
                }
            }
            (sum, wakeups)
        },
    )
}

fn seg_queue(run: &Run) -> Outcome {
    let queue = SegQueue::<(SocketAddr, Vec<u8>)>::new();
    let total = run.messages();
    let from = source();
    let queue = &queue;
    drive(
        run,
        |buffers| {
            for buffer in buffers.iter() {
                queue.push((from, buffer.clone()));
            }
        },
        move || {
            let (mut received, mut sum, mut wakeups) = (0, 0, 0);
            let mut spins = 0;
            while received < total {
                let Some((_, datagram)) = queue.pop() else {
                    pause(&mut spins);
                    continue;
                };
                spins = 0;
                wakeups += 1;
                sum += read(&datagram);
                received += 1;
                while let Some((_, datagram)) = queue.pop() {
                    sum += read(&datagram);
                    received += 1;
                }
            }
            (sum, wakeups)
        },
    )
}

/// Runs one configuration through one queue.
type Contender = fn(&Run) -> Outcome;

/// The contenders, by name.
const QUEUES: [(&str, Contender); 6] = [
    ("msgqueue_batch", |run| msgqueue(run, true)),
    ("msgqueue_push", |run| msgqueue(run, false)),
    ("crossbeam_bounded", crossbeam_bounded),
    ("std_sync_channel", std_sync_channel),
    ("array_queue", array_queue),
    ("seg_queue", seg_queue),
];

/// Bursts per datagram size and batch, for the counting runs: 200,000
/// datagrams, the first tenth not counted.
fn counting_run(size: usize, batch: usize) -> Run {
    let bursts = 200_000 / batch as u64;
    Run {
        size,
        batch,
        bursts,
        warm_bursts: bursts / 10,
    }
}

/// Counts allocations per datagram after warm-up and prints them with the
/// mean batch the consumer took per wake-up.
fn report_allocations(label: &str, contender: Contender, size: usize, batch: usize) {
    let run = counting_run(size, batch);
    let outcome = contender(&run);
    let counted = (run.bursts - run.warm_bursts) * batch as u64;
    println!(
        "{label}: {:.4} allocations per datagram ({} over {counted} after warm-up), \
         {:.1} datagrams per consumer wake-up",
        outcome.allocations as f64 / counted as f64,
        outcome.allocations,
        run.messages() as f64 / outcome.wakeups as f64,
    );
}

fn queue(c: &mut Criterion) {
    for batch in [16, 1] {
        for size in SIZES {
            let mut group = c.benchmark_group(format!("queue/batch_{batch}"));
            group.throughput(Throughput::Elements(batch as u64));
            for (name, contender) in QUEUES {
                // At batch 1 the two MsgQueue producers are the same thing.
                if batch == 1 && name == "msgqueue_batch" {
                    continue;
                }
                let mut counted = false;
                group.bench_function(BenchmarkId::new(name, size), |b| {
                    // Criterion calls this only for benchmarks its filter
                    // selects; count allocations once, before timing.
                    if !counted {
                        counted = true;
                        report_allocations(
                            &format!("queue/batch_{batch}/{name}/{size}"),
                            contender,
                            size,
                            batch,
                        );
                    }
                    b.iter_custom(|bursts| {
                        let run = Run {
                            size,
                            batch,
                            bursts,
                            warm_bursts: 0,
                        };
                        contender(&run).elapsed
                    })
                });
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = queue
}
criterion_main!(benches);
