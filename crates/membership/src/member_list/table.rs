//! The member table: open addressing keyed by listening address (linear
//! probing, at most three quarters full, backward-shift deletion, any
//! table length: a table sized for a join response has no slack). A
//! member's slot is where its address hashes, so a lookup reads one cache
//! line, where a SwissTable reads its control bytes and then the slot, and
//! a table of positions into a dense vector reads three lines. Slots
//! follow hashes, so the members of an anti-entropy bucket (a range of
//! hashes) sit in a range of slots.
//!
//! `hashbrown::HashTable` was measured in its place at 10,000 members
//! (see `crates/membership/README.md`): a table of whole entries took 36 %
//! more memory in a simulator of 10,000 nodes (power-of-two sizing), and a
//! table of positions into a dense vector 40 % more CPU time (a cold
//! lookup misses the cache three times instead of once).

use std::net::{SocketAddr, SocketAddrV6};

use super::digest::bucket_of;
use super::entry::{Entry, hash};

/// Whether `len` entries fit in a table of `capacity` slots: at most three
/// quarters full, where linear probing with a well-mixed hash averages two
/// and a half probes for a hit (two entries share a cache line).
fn fits(len: usize, capacity: usize) -> bool {
    len * 4 <= capacity * 3
}

/// Entries in slots; slots move when the table grows or an entry shifts
/// back into a hole, and the table says so.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    /// Any length (or empty), at most 3/4 full.
    slots: Vec<Option<Entry>>,
    len: usize,
}

impl Table {
    /// Entries in the table.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Slots of the table, empty or not.
    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Where a probe run for `addr` starts: the hash scaled to the table
    /// length (any length, not only powers of two, so a table sized for a
    /// known count wastes no slack).
    pub(super) fn home(&self, addr: &SocketAddr) -> usize {
        ((u128::from(hash(addr)) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot after `at`, wrapping.
    fn after(&self, at: usize) -> usize {
        if at + 1 == self.slots.len() {
            0
        } else {
            at + 1
        }
    }

    /// How far `at` lies after `from` along the (wrapping) probe order.
    fn distance(&self, from: usize, at: usize) -> usize {
        if at >= from {
            at - from
        } else {
            at + self.slots.len() - from
        }
    }

    /// The slot of the entry listed under `addr`, if any.
    pub(super) fn find(&self, addr: &SocketAddr, v6: &[SocketAddrV6]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mut at = self.home(addr);
        loop {
            match &self.slots[at] {
                None => return None,
                Some(e) if e.has_addr(addr, v6) => return Some(at as u32),
                Some(_) => at = self.after(at),
            }
        }
    }

    /// The entry in `slot`, which is occupied.
    pub(super) fn get(&self, slot: u32) -> &Entry {
        self.slots[slot as usize]
            .as_ref()
            .expect("indexed and live slots are occupied")
    }

    /// The entry in `slot`, which is occupied.
    pub(super) fn get_mut(&mut self, slot: u32) -> &mut Entry {
        self.slots[slot as usize]
            .as_mut()
            .expect("indexed and live slots are occupied")
    }

    /// The entry in slot `at`, if any.
    pub(super) fn in_slot(&self, at: usize) -> Option<&Entry> {
        self.slots.get(at)?.as_ref()
    }

    /// Every entry with its slot, in slot order.
    pub(super) fn slots(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(at, e)| e.as_ref().map(|e| (at as u32, e)))
    }

    /// Every entry, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// Adds an entry whose address is not in the table, doubling the table
    /// first when it is full. Returns its slot, and whether the table grew
    /// (then every entry moved).
    pub(super) fn insert(&mut self, entry: Entry, v6: &[SocketAddrV6]) -> (u32, bool) {
        let grow = !fits(self.len + 1, self.slots.len());
        if grow {
            self.resize((self.slots.len() * 2).max(16), v6);
        }
        let slot = self.place(entry, v6);
        self.len += 1;
        (slot, grow)
    }

    /// Makes room for `additional` more entries without the slack of
    /// doubling. Returns whether the table grew (then every entry moved).
    pub(super) fn reserve_exact(&mut self, additional: usize, v6: &[SocketAddrV6]) -> bool {
        let total = self.len + additional;
        // The least length that fits, in whole cache lines' worth of slots.
        let capacity = (total * 4).div_ceil(3).next_multiple_of(16);
        debug_assert!(fits(total, capacity));
        if capacity <= self.slots.len() {
            return false;
        }
        self.resize(capacity, v6);
        true
    }

    /// Puts `entry` in the first free slot of its probe run; the table has
    /// room.
    fn place(&mut self, entry: Entry, v6: &[SocketAddrV6]) -> u32 {
        let mut at = self.home(&entry.addr(v6));
        while self.slots[at].is_some() {
            at = self.after(at);
        }
        self.slots[at] = Some(entry);
        at as u32
    }

    /// Rebuilds the table with `capacity` slots, in slot order.
    fn resize(&mut self, capacity: usize, v6: &[SocketAddrV6]) {
        let old = std::mem::replace(&mut self.slots, vec![None; capacity]);
        for entry in old.into_iter().flatten() {
            self.place(entry, v6);
        }
    }

    /// Takes the entry out of `slot` (occupied). Backward-shift deletion:
    /// later entries of the probe run move into the hole when their ideal
    /// slot does not lie between the hole and them, so no lookup ever stops
    /// early at the hole; each one moved is handed to `moved` with its new
    /// slot.
    pub(super) fn remove(
        &mut self,
        slot: u32,
        v6: &[SocketAddrV6],
        mut moved: impl FnMut(u32, &Entry),
    ) -> Entry {
        let mut hole = slot as usize;
        let entry = self.slots[hole].take().expect("removing an occupied slot");
        self.len -= 1;
        let mut at = self.after(hole);
        while let Some(next) = self.slots[at] {
            let ideal = self.home(&next.addr(v6));
            if self.distance(ideal, hole) < self.distance(ideal, at) {
                self.slots[hole] = self.slots[at].take();
                moved(hole as u32, &next);
                hole = at;
            }
            at = self.after(at);
        }
        entry
    }

    /// Hands every entry of `bucket` (of `buckets`) to `keep`, in slot
    /// order, until it returns false. A bucket is a range of hashes, and
    /// slots follow hashes, so this reads only the slots of that range and
    /// the probe run that spills past it.
    pub(super) fn bucket_members(
        &self,
        buckets: usize,
        bucket: usize,
        v6: &[SocketAddrV6],
        mut keep: impl FnMut(&Entry) -> bool,
    ) {
        let len = self.slots.len();
        if len == 0 {
            return;
        }
        let start = bucket * len / buckets;
        let span = ((bucket + 1) * len).div_ceil(buckets) - start;
        let mut at = start;
        for step in 0..len {
            match &self.slots[at] {
                None if step >= span => return,
                None => {}
                Some(e) if bucket_of(e.hash(v6), buckets) == bucket && !keep(e) => return,
                Some(_) => {}
            }
            at = self.after(at);
        }
    }
}
