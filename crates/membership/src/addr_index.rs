//! A compact hash index from listening address to member slot: 4 bytes per
//! bucket instead of the 40 a `HashMap<SocketAddr, u32>` takes, which is what
//! lets a simulator hold ten thousand nodes that each list ten thousand
//! members.
//!
//! Open addressing with linear probing and backward-shift deletion; the key
//! is not stored, it is read from the slot the bucket points to.

use std::net::SocketAddr;

const EMPTY: u32 = u32::MAX;

/// Address → slot, with the addresses kept by the caller's slots.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddrIndex {
    buckets: Vec<u32>,
    len: usize,
}

/// A fast, fixed (deterministic) mix of address and port. Not resistant to
/// chosen collisions, which is fine: entries come from join responses and
/// gossip of cluster members, and a collision costs probe length, not
/// correctness.
fn hash(addr: &SocketAddr) -> u64 {
    let (ip, port) = match addr {
        SocketAddr::V4(a) => (u128::from(a.ip().to_bits()), a.port()),
        SocketAddr::V6(a) => (a.ip().to_bits(), a.port()),
    };
    let folded = (ip as u64) ^ ((ip >> 64) as u64).rotate_left(29) ^ (u64::from(port) << 48);
    // splitmix64 finaliser
    let mut x = folded.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl AddrIndex {
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    fn ideal(&self, addr: &SocketAddr) -> usize {
        hash(addr) as usize & self.mask()
    }

    /// The slot of `addr`; `addr_of` reads a slot's address.
    pub(crate) fn get(
        &self,
        addr: &SocketAddr,
        addr_of: impl Fn(u32) -> SocketAddr,
    ) -> Option<u32> {
        self.find(addr, &addr_of).map(|(_, slot)| slot)
    }

    fn find(
        &self,
        addr: &SocketAddr,
        addr_of: &impl Fn(u32) -> SocketAddr,
    ) -> Option<(usize, u32)> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut at = self.ideal(addr);
        loop {
            let slot = self.buckets[at];
            if slot == EMPTY {
                return None;
            }
            if addr_of(slot) == *addr {
                return Some((at, slot));
            }
            at = (at + 1) & self.mask();
        }
    }

    /// Whether `len` entries fit in `buckets` buckets: at most three
    /// quarters full, where linear probing with a well-mixed hash still
    /// averages under three probes for a miss.
    fn fits(len: usize, buckets: usize) -> bool {
        len * 4 <= buckets * 3
    }

    /// Makes room for `total` entries in all, growing once instead of by
    /// repeated doubling (a join response lists the whole cluster at once).
    pub(crate) fn reserve(&mut self, total: usize, addr_of: impl Fn(u32) -> SocketAddr) {
        let mut capacity = self.buckets.len().max(16);
        while !Self::fits(total, capacity) {
            capacity *= 2;
        }
        if capacity > self.buckets.len() {
            self.rehash(capacity, &addr_of);
        }
    }

    /// Indexes `slot` under its address, which must not be indexed yet.
    pub(crate) fn insert(&mut self, slot: u32, addr_of: impl Fn(u32) -> SocketAddr) {
        if !Self::fits(self.len + 1, self.buckets.len()) {
            let capacity = (self.buckets.len() * 2).max(16);
            self.rehash(capacity, &addr_of);
        }
        let mut at = self.ideal(&addr_of(slot));
        while self.buckets[at] != EMPTY {
            at = (at + 1) & self.mask();
        }
        self.buckets[at] = slot;
        self.len += 1;
    }

    fn rehash(&mut self, capacity: usize, addr_of: &impl Fn(u32) -> SocketAddr) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; capacity]);
        for slot in old.into_iter().filter(|s| *s != EMPTY) {
            let mut at = self.ideal(&addr_of(slot));
            while self.buckets[at] != EMPTY {
                at = (at + 1) & self.mask();
            }
            self.buckets[at] = slot;
        }
    }

    /// Removes `addr`; returns its slot.
    pub(crate) fn remove(
        &mut self,
        addr: &SocketAddr,
        addr_of: impl Fn(u32) -> SocketAddr,
    ) -> Option<u32> {
        let (mut hole, slot) = self.find(addr, &addr_of)?;
        self.buckets[hole] = EMPTY;
        self.len -= 1;
        // Backward-shift: move later entries of the probe run into the hole
        // when their ideal bucket does not lie between the hole and them.
        let mask = self.mask();
        let mut at = (hole + 1) & mask;
        while self.buckets[at] != EMPTY {
            let ideal = self.ideal(&addr_of(self.buckets[at]));
            let distance_here = at.wrapping_sub(ideal) & mask;
            let distance_hole = hole.wrapping_sub(ideal) & mask;
            if distance_hole < distance_here {
                self.buckets[hole] = self.buckets[at];
                self.buckets[at] = EMPTY;
                hole = at;
            }
            at = (at + 1) & mask;
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// The index agrees with a HashMap model under any mix of inserts
        /// and removes over a small address space (many collisions).
        #[test]
        fn agrees_with_a_hash_map(ops in proptest::collection::vec((any::<bool>(), 0u16..64), 0..400)) {
            let mut slots: Vec<SocketAddr> = Vec::new();
            let mut index = AddrIndex::default();
            let mut model: HashMap<SocketAddr, u32> = HashMap::new();
            for (insert, port) in ops {
                let addr = SocketAddr::from(([10, 0, 0, 1], port));
                let addr_of = |s: u32| slots[s as usize];
                if insert {
                    if let std::collections::hash_map::Entry::Vacant(entry) = model.entry(addr) {
                        slots.push(addr);
                        let slot = (slots.len() - 1) as u32;
                        let addr_of = |s: u32| slots[s as usize];
                        index.insert(slot, addr_of);
                        entry.insert(slot);
                    }
                } else {
                    prop_assert_eq!(index.remove(&addr, addr_of), model.remove(&addr));
                }
                for p in 0..64u16 {
                    let probe = SocketAddr::from(([10, 0, 0, 1], p));
                    let addr_of = |s: u32| slots[s as usize];
                    prop_assert_eq!(index.get(&probe, addr_of), model.get(&probe).copied());
                }
            }
        }
    }
}
