//! The virtual clock's agenda: a priority queue of timestamped steps.
//!
//! Steps due at the same instant come out in the order they were scheduled
//! (a sequence number breaks ties), so a run never depends on heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rumor_membership::Time;

/// What the heap orders: small, so sifting moves few bytes; the step itself
/// waits in a slab until popped.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: Time,
    seq: u64,
    index: u32,
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

/// Steps ordered by time, then by scheduling order.
pub struct EventQueue<T> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
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
        self.heap.push(Entry { at, seq, index });
    }

    /// The earliest step, removed from the agenda.
    pub fn pop(&mut self) -> Option<(Time, T)> {
        let e = self.heap.pop()?;
        self.free.push(e.index);
        let item = self.slab[e.index as usize]
            .take()
            .expect("a heap entry always points at a filled slab cell");
        Some((e.at, item))
    }

    /// When the earliest step is due.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.at)
    }

    /// Steps scheduled and not yet popped.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
}
