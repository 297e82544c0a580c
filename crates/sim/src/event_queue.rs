//! The virtual clock's agenda: a priority queue of timestamped steps.
//!
//! Steps due at the same instant come out in the order they were scheduled
//! (a sequence number breaks ties), so a run never depends on the queue's
//! internals.
//!
//! A calendar queue: time is cut into buckets of about a millisecond; the
//! bucket being played is a small binary heap, the next second's buckets are
//! unsorted vectors in a ring (a push is an append), and anything later
//! waits in an overflow heap. Almost every step of a run is a delivery a
//! millisecond or so ahead or a timer within a probe period, so pushes are
//! O(1) and pops sift a heap of one bucket's steps, which stays in cache,
//! where one heap of every pending step (ten thousand nodes' timers and the
//! datagrams in flight) missed the cache on every level.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rumor_membership::Time;

/// Bucket width: 2^20 ns, about 1 ms.
const BUCKET_SHIFT: u32 = 20;
/// Buckets in the ring: about 1.07 s of the future.
const RING: u64 = 1024;

/// What the heaps order: small, so sifting moves few bytes; the step itself
/// waits in a slab until popped.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: u64,
    seq: u64,
    index: u32,
}

impl Entry {
    fn bucket(&self) -> u64 {
        self.at >> BUCKET_SHIFT
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap, and the earliest step must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .cmp(&self.at)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

fn nanos(t: Time) -> u64 {
    u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
}

/// Steps ordered by time, then by scheduling order.
pub struct EventQueue<T> {
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
    /// The bucket being played (and anything pushed for an earlier one).
    current: BinaryHeap<Entry>,
    /// Absolute number of the bucket being played.
    cursor: u64,
    /// Buckets `cursor + 1 .. cursor + RING`, at `bucket % RING`, unsorted.
    ring: Vec<Vec<Entry>>,
    in_ring: usize,
    /// Steps at or beyond `cursor + RING` when they were pushed.
    overflow: BinaryHeap<Entry>,
    len: usize,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            current: BinaryHeap::new(),
            cursor: 0,
            ring: (0..RING).map(|_| Vec::new()).collect(),
            in_ring: 0,
            overflow: BinaryHeap::new(),
            len: 0,
        }
    }
}

impl<T> EventQueue<T> {
    /// An empty agenda.
    pub fn new() -> EventQueue<T> {
        EventQueue::default()
    }

    /// Schedules `item` at `at`.
    pub fn push(&mut self, at: Time, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(item);
                i
            }
            None => {
                self.slab.push(Some(item));
                u32::try_from(self.slab.len() - 1)
                    .expect("fewer than 2^32 steps are pending at once")
            }
        };
        let entry = Entry {
            at: nanos(at),
            seq,
            index,
        };
        let bucket = entry.bucket();
        if bucket <= self.cursor {
            self.current.push(entry);
        } else if bucket - self.cursor < RING {
            self.ring[(bucket % RING) as usize].push(entry);
            self.in_ring += 1;
        } else {
            self.overflow.push(entry);
        }
        self.len += 1;
    }

    /// Moves the cursor to the next bucket holding a step and makes it the
    /// current heap. Only called with the current heap empty.
    fn advance(&mut self) -> bool {
        debug_assert!(self.current.is_empty());
        loop {
            if self.in_ring == 0 {
                // Nothing in the next second: jump to the overflow's earliest.
                match self.overflow.peek() {
                    Some(e) => self.cursor = self.cursor.max(e.bucket()),
                    None => return false,
                }
            } else {
                self.cursor += 1;
                let slot = (self.cursor % RING) as usize;
                if !self.ring[slot].is_empty() {
                    let due = std::mem::take(&mut self.ring[slot]);
                    self.in_ring -= due.len();
                    // The emptied heap's buffer becomes the slot's next vector.
                    let spare = std::mem::replace(&mut self.current, BinaryHeap::from(due));
                    self.ring[slot] = spare.into_vec();
                }
            }
            while self
                .overflow
                .peek()
                .is_some_and(|e| e.bucket() <= self.cursor)
            {
                let e = self.overflow.pop().expect("peek just saw an entry");
                self.current.push(e);
            }
            if !self.current.is_empty() {
                return true;
            }
        }
    }

    /// The earliest step, removed from the agenda.
    pub fn pop(&mut self) -> Option<(Time, T)> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        let e = self.current.pop()?;
        self.len -= 1;
        self.free.push(e.index);
        let item = self.slab[e.index as usize]
            .take()
            .expect("a queued entry always points at a filled slab cell");
        Some((Time::from_nanos(e.at), item))
    }

    /// When the earliest step is due (may move the cursor forward to find
    /// it, which changes no order).
    pub fn peek_time(&mut self) -> Option<Time> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        self.current.peek().map(|e| Time::from_nanos(e.at))
    }

    /// Steps scheduled and not yet popped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_then_fifo_among_equals() {
        let mut q = EventQueue::new();
        let ms = Duration::from_millis;
        q.push(ms(5), "late");
        q.push(ms(1), "a");
        q.push(ms(3), "mid");
        q.push(ms(1), "b");
        q.push(ms(1), "c");
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek_time(), Some(ms(1)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["a", "b", "c", "mid", "late"]);
        assert!(q.is_empty());
    }

    proptest::proptest! {
        /// Against a plain sorted model: pushes at any distance (same bucket,
        /// the ring, beyond it, even before the last pop) interleaved with
        /// pops give exactly the (time, push order) sequence.
        #[test]
        fn pops_in_time_then_push_order(
            ops in proptest::collection::vec((0u8..4, 0u64..3_000_000_000), 1..400)
        ) {
            let mut q = EventQueue::new();
            let mut model: Vec<(u64, usize)> = Vec::new();
            let mut now = 0u64;
            for (n, (kind, offset)) in ops.into_iter().enumerate() {
                if kind == 0 {
                    model.sort();
                    let expected = (!model.is_empty()).then(|| model.remove(0));
                    let got = q.pop().map(|(t, id)| (nanos(t), id));
                    proptest::prop_assert_eq!(got, expected);
                    if let Some((t, _)) = got {
                        now = t;
                    }
                } else {
                    // Mostly near the clock (the ring), some far (overflow),
                    // some slightly in the past of the last pop.
                    let at = match kind {
                        1 => now + offset % 3_000_000,
                        2 => now + offset,
                        _ => now.saturating_sub(offset % 2_000_000),
                    };
                    q.push(Duration::from_nanos(at), n);
                    model.push((at, n));
                }
                proptest::prop_assert_eq!(q.len(), model.len());
            }
            model.sort();
            let rest: Vec<(u64, usize)> =
                std::iter::from_fn(|| q.pop().map(|(t, id)| (nanos(t), id))).collect();
            proptest::prop_assert_eq!(rest, model);
        }
    }
}
