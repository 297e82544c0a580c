//! Heartbeat counters of the heartbeat-style detectors (`gossip`, `phi`):
//! this node's own counter, the highest counter seen per member with when it
//! last rose, and a rotating cursor so that large tables go out in slices
//! that fit a datagram.

use rumor_wire::{NodeId, encoded_len};

use crate::Time;
use crate::member_list::{IndexedSet, Map};

/// One member's heartbeat as this node saw it, plus the detector's own data.
#[derive(Debug, Clone)]
pub(crate) struct Beat<T> {
    pub(crate) counter: u64,
    pub(crate) last_rise: Time,
    pub(crate) extra: T,
}

/// Heartbeat counters by member.
#[derive(Debug)]
pub(crate) struct HeartbeatTable<T> {
    own: u64,
    beats: Map<NodeId, Beat<T>>,
    order: IndexedSet,
    cursor: usize,
}

impl<T: Default> HeartbeatTable<T> {
    pub(crate) fn new() -> HeartbeatTable<T> {
        HeartbeatTable {
            own: 0,
            beats: Map::default(),
            order: IndexedSet::default(),
            cursor: 0,
        }
    }

    /// Starts tracking `member` as if it had just beaten.
    pub(crate) fn add(&mut self, member: NodeId, now: Time) {
        self.beats.entry(member).or_insert_with(|| Beat {
            counter: 0,
            last_rise: now,
            extra: T::default(),
        });
        self.order.insert(member);
    }

    pub(crate) fn remove(&mut self, member: &NodeId) {
        self.beats.remove(member);
        self.order.remove(member);
    }

    pub(crate) fn get_mut(&mut self, member: &NodeId) -> Option<&mut Beat<T>> {
        self.beats.get_mut(member)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&NodeId, &mut Beat<T>)> {
        self.beats.iter_mut()
    }

    /// Raises this node's own counter.
    pub(crate) fn beat(&mut self) {
        self.own += 1;
    }

    /// Records `counter` for `member`; returns the previous rise time if the
    /// counter rose (and records `now` as the new one).
    pub(crate) fn observe(&mut self, member: &NodeId, counter: u64, now: Time) -> Option<Time> {
        let beat = self.beats.get_mut(member)?;
        if counter <= beat.counter {
            return None;
        }
        beat.counter = counter;
        let previous = beat.last_rise;
        beat.last_rise = now;
        Some(previous)
    }

    /// This node's own heartbeat first, then tracked members in rotating
    /// order, while the encoding fits in `budget` bytes.
    pub(crate) fn fill(&mut self, me: NodeId, budget: usize, out: &mut Vec<(NodeId, u64)>) {
        let own = (me, self.own);
        let mut used = encoded_len(&own);
        if used > budget {
            return;
        }
        out.push(own);
        let n = self.order.len();
        for _ in 0..n {
            self.cursor %= n;
            let id = self
                .order
                .get(self.cursor)
                .expect("cursor was reduced modulo the tracked count");
            let Some(beat) = self.beats.get(&id) else {
                self.cursor += 1;
                continue;
            };
            let entry = (id, beat.counter);
            let size = encoded_len(&entry);
            if used + size > budget {
                return;
            }
            used += size;
            out.push(entry);
            self.cursor += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Version;
    use std::net::SocketAddr;

    fn id(port: u16) -> NodeId {
        NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(1))
    }

    #[test]
    fn observe_reports_rises_only() {
        let mut table: HeartbeatTable<()> = HeartbeatTable::new();
        table.add(id(2), Time::from_millis(5));
        assert_eq!(
            table.observe(&id(2), 3, Time::from_millis(10)),
            Some(Time::from_millis(5))
        );
        assert_eq!(table.observe(&id(2), 3, Time::from_millis(20)), None);
        assert_eq!(table.observe(&id(2), 2, Time::from_millis(20)), None);
        assert_eq!(
            table.observe(&id(9), 7, Time::from_millis(20)),
            None,
            "untracked"
        );
    }

    #[test]
    fn fill_puts_own_first_and_rotates_within_budget() {
        let mut table: HeartbeatTable<()> = HeartbeatTable::new();
        for p in 2..40 {
            table.add(id(p), Time::ZERO);
        }
        table.beat();
        let entry = encoded_len(&(id(1), 1u64));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..8 {
            let mut out = Vec::new();
            table.fill(id(1), entry * 6, &mut out);
            assert_eq!(out[0], (id(1), 1));
            assert!(encoded_len(&out) <= entry * 6 + 1);
            seen.extend(out[1..].iter().map(|(n, _)| n.addr.port()));
        }
        assert_eq!(seen.len(), 38, "every member went out in some slice");
    }
}
