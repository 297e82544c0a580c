//! The member list: every known member keyed by [`NodeId`], with the indexes
//! that keep per-message work independent of the cluster size.
//!
//! Members sit in a SwissTable (`hashbrown::HashTable`) keyed by listening
//! address, hashed by the list itself (the same address hash splits the
//! list into anti-entropy buckets). Besides the entries it keeps: the
//! current version per address (a newer version supersedes an older one),
//! tombstones (the highest version of each address known to be gone, so a
//! failed or left member never comes back under the same version, even
//! after removal), and an indexed set of live members for O(1) uniform
//! random choice, which holds bucket indices of the table. Entries move
//! only when the table rehashes (it grows, or reclaims deleted buckets);
//! the list then points the live set at their new buckets.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use hashbrown::HashTable;
use rand::Rng;
use rumor_wire::{Incarnation, MemberState, MemberUpdate, NodeId, Version};

use crate::Time;

/// A hash map with a fixed hasher (FxHash: a few cycles per word, no OS
/// randomness, so the same seed gives the same run). Not resistant to
/// chosen collisions, which is fine for these maps: their keys are member
/// ids and sequence numbers of cluster members, and a collision costs
/// probe length, not correctness.
pub(crate) type Map<K, V> = rustc_hash::FxHashMap<K, V>;

const NOT_LIVE: u32 = u32::MAX;

/// Whether a member in `state` counts as live (probed, chosen, listed live).
fn is_live(state: MemberState) -> bool {
    matches!(state, MemberState::Alive | MemberState::Suspect)
}

/// One member as this node sees it, as the list hands it out (a copy; the
/// list stores a compact [`Entry`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) id: NodeId,
    pub(crate) incarnation: Incarnation,
    pub(crate) state: MemberState,
}

impl Member {
    pub(crate) fn update(&self) -> MemberUpdate {
        MemberUpdate {
            node: self.id,
            state: self.state,
            incarnation: self.incarnation,
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        is_live(self.state)
    }
}

/// A slot of the member list: 32 bytes, two to a cache line (a simulator
/// holds n² of them; at 10,000 nodes the lists are most of its memory and
/// every received update reads one). An IPv4 address is kept inline; an
/// IPv6 one (rare, and with flow info and scope id) lives in the list's
/// side table and the entry keeps its index there.
#[derive(Clone, Copy, Debug)]
struct Entry {
    version: Version,
    incarnation: Incarnation,
    /// Sequence number of the last change (newest changes first; wraps).
    changed: u32,
    /// Position in the live list, or `NOT_LIVE`.
    live_pos: u32,
    /// IPv4 address bits, or the index of the address in the IPv6 table.
    ip: u32,
    port: u16,
    state: MemberState,
    v6: bool,
}

impl Entry {
    fn addr(&self, v6: &[SocketAddrV6]) -> SocketAddr {
        if self.v6 {
            SocketAddr::V6(v6[self.ip as usize])
        } else {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from_bits(self.ip), self.port))
        }
    }

    fn id(&self, v6: &[SocketAddrV6]) -> NodeId {
        NodeId::new(self.addr(v6), self.version)
    }

    /// Whether this entry is listed under `addr`, without building the
    /// address for IPv4.
    fn has_addr(&self, addr: &SocketAddr, v6: &[SocketAddrV6]) -> bool {
        match addr {
            SocketAddr::V4(a) => !self.v6 && self.ip == a.ip().to_bits() && self.port == a.port(),
            SocketAddr::V6(a) => self.v6 && v6[self.ip as usize] == *a,
        }
    }

    /// Whether this entry is `id` (address and version).
    fn is(&self, id: &NodeId, v6: &[SocketAddrV6]) -> bool {
        self.version == id.version && self.has_addr(&id.addr, v6)
    }

    fn is_live(&self) -> bool {
        is_live(self.state)
    }

    fn view(&self, v6: &[SocketAddrV6]) -> Member {
        Member {
            id: self.id(v6),
            incarnation: self.incarnation,
            state: self.state,
        }
    }

    fn update(&self, v6: &[SocketAddrV6]) -> MemberUpdate {
        self.view(v6).update()
    }
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
    mix(folded.wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// The splitmix64 finaliser: every input bit moves every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The finest split of the address-hash space into anti-entropy buckets
/// (a power of two): the list keeps one summary per bucket, updated on
/// every change, so a digest costs no scan.
pub(crate) const DIGEST_BUCKETS: usize = 1 << DIGEST_BITS;
const DIGEST_BITS: u32 = 10;

/// The bucket of an address hash when the hash space is split into
/// `buckets` (a power of two, at most [`DIGEST_BUCKETS`]): its top bits.
fn bucket_of(addr_hash: u64, buckets: usize) -> usize {
    debug_assert!(buckets.is_power_of_two() && buckets <= DIGEST_BUCKETS);
    let bits = buckets.trailing_zeros();
    if bits == 0 {
        0
    } else {
        (addr_hash >> (64 - bits)) as usize
    }
}

/// What a member contributes to its bucket's summary: a 64-bit mix of its
/// address hash, its version and whether it is live. Summaries are the XOR
/// of their members' fingerprints, so a change updates them in O(1) and two
/// lists agree on a bucket when they hold the same members in the same
/// liveness (suspicions and incarnations aside: gossip settles those).
fn fingerprint(addr_hash: u64, version: Version, live: bool) -> u64 {
    mix(addr_hash ^ version.0.rotate_left(23) ^ u64::from(live).wrapping_mul(0xa076_1d64_78bd_642f))
}

/// A set with O(1) insert, remove and uniform random choice.
#[derive(Debug, Default)]
pub(crate) struct IndexedSet {
    items: Vec<NodeId>,
    index: Map<NodeId, usize>,
}

impl IndexedSet {
    pub(crate) fn insert(&mut self, id: NodeId) {
        if !self.index.contains_key(&id) {
            self.index.insert(id, self.items.len());
            self.items.push(id);
        }
    }

    pub(crate) fn remove(&mut self, id: &NodeId) {
        if let Some(pos) = self.index.remove(id) {
            self.items.swap_remove(pos);
            if let Some(moved) = self.items.get(pos) {
                self.index.insert(*moved, pos);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn get(&self, pos: usize) -> Option<NodeId> {
        self.items.get(pos).copied()
    }
}

/// Up to `k` distinct items of `0..n` mapped through `at`, none in
/// `exclude`, chosen uniformly. Expected O(k) for k much smaller than n.
fn choose_distinct(
    rng: &mut impl Rng,
    n: usize,
    at: impl Fn(usize) -> NodeId,
    k: usize,
    exclude: &[NodeId],
    out: &mut Vec<NodeId>,
) {
    if n == 0 || k == 0 {
        return;
    }
    let start = out.len();
    if k * 2 >= n {
        // Dense: walk every item from a random offset, then shuffle.
        let offset = rng.random_range(0..n);
        for step in 0..n {
            if out.len() - start == k {
                break;
            }
            let id = at((offset + step) % n);
            if !exclude.contains(&id) {
                out.push(id);
            }
        }
        for i in (start + 1..out.len()).rev() {
            let j = rng.random_range(start..=i);
            out.swap(i, j);
        }
        return;
    }
    // Sparse: rejection sampling; bounded tries in case most are excluded.
    let mut tries = 0;
    while out.len() - start < k && tries < 8 * k + 32 {
        tries += 1;
        let id = at(rng.random_range(0..n));
        if !exclude.contains(&id) && !out[start..].contains(&id) {
            out.push(id);
        }
    }
}

/// No member entry encodes above this many bytes (IPv6 with high bytes,
/// 9-byte version and incarnation, longest state name); checked by a test.
pub(crate) const LARGEST_ENTRY: usize = 96;

/// What the list knows about one [`NodeId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// In the list (any state).
    Known,
    /// Gone: a tombstone or a newer version of its address says so.
    Gone,
    /// Never heard of.
    Unknown,
}

/// Every known member, in a hash table, with indexes.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    me: NodeId,
    /// The entries, keyed by address; a member's "slot" is its bucket index.
    table: HashTable<Entry>,
    /// Addresses of IPv6 entries (they keep an index here).
    v6: Vec<SocketAddrV6>,
    v6_free: Vec<u32>,
    tombstones: Map<SocketAddr, Version>,
    /// Slots of live members other than this node.
    live: Vec<u32>,
    /// Per finest bucket, the XOR of its members' fingerprints.
    digests: Vec<u64>,
    next_change: u32,
}

impl MemberList {
    /// A list holding only `me`, alive.
    pub(crate) fn new(me: NodeId, now: Time) -> MemberList {
        let mut list = MemberList {
            me,
            table: HashTable::new(),
            v6: Vec::new(),
            v6_free: Vec::new(),
            tombstones: Map::default(),
            live: Vec::new(),
            digests: vec![0; DIGEST_BUCKETS],
            next_change: 0,
        };
        list.insert(me, MemberState::Alive, Incarnation(0), now);
        list
    }

    fn slot_of(&self, addr: &SocketAddr) -> Option<u32> {
        let v6 = &self.v6;
        self.table
            .find_bucket_index(hash(addr), |e| e.has_addr(addr, v6))
            .map(|at| at as u32)
    }

    /// Makes room for `additional` more entries; when that rehashes the
    /// table (entries change buckets), points the live set at the new
    /// buckets.
    fn reserve(&mut self, additional: usize) {
        if self.table.capacity() - self.table.len() >= additional {
            return;
        }
        let v6 = &self.v6;
        self.table.reserve(additional, |e| hash(&e.addr(v6)));
        for at in self.table.iter_buckets() {
            let pos = self.table.get_bucket(at).expect("iterated").live_pos;
            if pos != NOT_LIVE {
                self.live[pos as usize] = at as u32;
            }
        }
    }

    fn entry(&self, slot: u32) -> &Entry {
        self.table
            .get_bucket(slot as usize)
            .expect("indexed and live slots are occupied")
    }

    fn entry_mut(&mut self, slot: u32) -> &mut Entry {
        self.table
            .get_bucket_mut(slot as usize)
            .expect("indexed and live slots are occupied")
    }

    fn listed_at(&self, addr: &SocketAddr) -> Option<Member> {
        let slot = self.slot_of(addr)?;
        Some(self.entry(slot).view(&self.v6))
    }

    #[cfg(test)]
    pub(crate) fn standing(&self, id: &NodeId) -> Standing {
        self.lookup(id).0
    }

    /// `id`'s standing and the member listed at its address, if any: `id`
    /// itself when `Known`, an older version of it when `Unknown`, a newer
    /// one (or none) when `Gone`. One table lookup where `standing`, then
    /// `get` or `superseded_by`, would take two.
    pub(crate) fn lookup(&self, id: &NodeId) -> (Standing, Option<Member>) {
        let listed = self.listed_at(&id.addr);
        if let Some(current) = listed {
            if current.id == *id {
                return (Standing::Known, listed);
            }
            if current.id.version > id.version {
                return (Standing::Gone, listed);
            }
        }
        if self
            .tombstones
            .get(&id.addr)
            .is_some_and(|dead| *dead >= id.version)
        {
            return (Standing::Gone, listed);
        }
        (Standing::Unknown, listed)
    }

    /// The newest version known at `addr`, listed or gone, if any.
    pub(crate) fn newest_version_at(&self, addr: &SocketAddr) -> Version {
        let listed = self.listed_at(addr).map(|m| m.id.version);
        let gone = self.tombstones.get(addr).copied();
        listed.max(gone).unwrap_or(Version(0))
    }

    /// The member currently listed at `id`'s address, if it is an older
    /// version than `id`.
    pub(crate) fn superseded_by(&self, id: &NodeId) -> Option<NodeId> {
        self.listed_at(&id.addr)
            .map(|m| m.id)
            .filter(|current| current.is_superseded_by(id))
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<Member> {
        self.listed_at(&id.addr).filter(|m| m.id == *id)
    }

    /// Adds a member that is not in the list. The caller checked
    /// [`MemberList::standing`] is `Unknown` and removed any older version.
    pub(crate) fn insert(
        &mut self,
        id: NodeId,
        state: MemberState,
        incarnation: Incarnation,
        _now: Time,
    ) {
        let changed = self.bump();
        let (ip, port, v6) = match id.addr {
            SocketAddr::V4(a) => (a.ip().to_bits(), a.port(), false),
            SocketAddr::V6(a) => {
                let at = match self.v6_free.pop() {
                    Some(at) => {
                        self.v6[at as usize] = a;
                        at
                    }
                    None => {
                        self.v6.push(a);
                        u32::try_from(self.v6.len() - 1).expect("fewer than 4 billion members")
                    }
                };
                (at, a.port(), true)
            }
        };
        let entry = Entry {
            version: id.version,
            incarnation,
            changed,
            live_pos: NOT_LIVE,
            ip,
            port,
            state,
            v6,
        };
        self.reserve(1);
        let v6 = &self.v6;
        let slot = self
            .table
            .insert_unique(hash(&id.addr), entry, |e| hash(&e.addr(v6)))
            .bucket_index() as u32;
        self.toggle_digest(&id, is_live(state));
        if id != self.me && is_live(state) {
            self.live_insert(slot);
        }
    }

    fn live_insert(&mut self, slot: u32) {
        let next = self.live.len() as u32;
        let entry = self.entry_mut(slot);
        if entry.live_pos == NOT_LIVE {
            entry.live_pos = next;
            self.live.push(slot);
        }
    }

    fn live_remove(&mut self, slot: u32) {
        let entry = self.entry_mut(slot);
        let pos = entry.live_pos;
        if pos == NOT_LIVE {
            return;
        }
        entry.live_pos = NOT_LIVE;
        self.live.swap_remove(pos as usize);
        if let Some(&moved) = self.live.get(pos as usize) {
            self.entry_mut(moved).live_pos = pos;
        }
    }

    /// Records a state change of a listed member, keeping the indexes. A
    /// deadline survives only a suspicion that stays a suspicion.
    pub(crate) fn set_state(
        &mut self,
        id: &NodeId,
        state: MemberState,
        incarnation: Incarnation,
        _now: Time,
    ) {
        let changed = self.bump();
        let me = self.me;
        let Some(slot) = self.slot_of_id(id) else {
            return;
        };
        let entry = self.entry_mut(slot);
        let was_live = entry.is_live();
        entry.state = state;
        entry.incarnation = incarnation;
        entry.changed = changed;
        let live = entry.is_live();
        if live != was_live {
            self.toggle_digest(id, was_live);
            self.toggle_digest(id, live);
        }
        if *id != me {
            if live {
                self.live_insert(slot);
            } else {
                self.live_remove(slot);
            }
        }
        if !live {
            self.bury(id);
        }
    }

    /// Deletes a member from the list, leaving a tombstone for its version.
    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<Member> {
        let slot = self.slot_of_id(id)?;
        self.live_remove(slot);
        let (entry, _) = self
            .table
            .get_bucket_entry(slot as usize)
            .expect("slot_of_id found it occupied")
            .remove();
        let member = entry.view(&self.v6);
        self.toggle_digest(id, entry.is_live());
        if entry.v6 {
            self.v6_free.push(entry.ip);
        }
        self.bury(id);
        Some(member)
    }

    /// Records `id` as gone.
    pub(crate) fn bury(&mut self, id: &NodeId) {
        self.tombstones
            .entry(id.addr)
            .and_modify(|v| *v = (*v).max(id.version))
            .or_insert(id.version);
    }

    fn bump(&mut self) -> u32 {
        self.next_change = self.next_change.wrapping_add(1);
        self.next_change
    }

    fn slot_of_id(&self, id: &NodeId) -> Option<u32> {
        let slot = self.slot_of(&id.addr)?;
        self.entry(slot).is(id, &self.v6).then_some(slot)
    }

    /// This list as `me` would hold it: a copy of every entry, slot for
    /// slot (a memory copy where inserting the members one by one would
    /// take a lookup each), with `me` as the owner. `None` unless `me` is
    /// listed live here under its version.
    pub(crate) fn copy_for(&self, me: NodeId) -> Option<MemberList> {
        let mine = self.slot_of_id(&me)?;
        if !self.entry(mine).is_live() {
            return None;
        }
        let mut copy = self.clone();
        copy.me = me;
        copy.live_remove(mine);
        if let Some(owner) = copy.slot_of_id(&self.me) {
            if owner != mine && copy.entry(owner).is_live() {
                copy.live_insert(owner);
            }
        }
        Some(copy)
    }

    /// Makes room for `additional` more members at once (a join response).
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        self.reserve(additional);
        self.live.reserve_exact(additional);
    }

    /// Number of live members other than this node.
    pub(crate) fn live_len(&self) -> usize {
        self.live.len()
    }

    /// The live member at `pos` of the live list (positions move as members
    /// come and go).
    pub(crate) fn live_at(&self, pos: usize) -> Option<NodeId> {
        let slot = *self.live.get(pos)?;
        Some(self.entry(slot).id(&self.v6))
    }

    /// Up to `k` distinct live members other than this node and `exclude`,
    /// uniformly at random.
    pub(crate) fn choose_live(
        &self,
        rng: &mut impl Rng,
        k: usize,
        exclude: &[NodeId],
        out: &mut Vec<NodeId>,
    ) {
        let at = |pos: usize| self.entry(self.live[pos]).id(&self.v6);
        choose_distinct(rng, self.live.len(), at, k, exclude, out);
    }

    /// Number of members in the list, this node included, any state.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Live members, this node included.
    pub(crate) fn live_count(&self) -> usize {
        self.live.len() + 1
    }

    /// Number of slots of the table (see [`MemberList::in_slot`]).
    pub(crate) fn slot_count(&self) -> usize {
        self.table.num_buckets()
    }

    /// The member in slot `at` of the table, if any: walking every slot
    /// visits every member, in a deterministic order (not sorted).
    pub(crate) fn in_slot(&self, at: usize) -> Option<Member> {
        self.table.get_bucket(at).map(|e| e.view(&self.v6))
    }

    /// Every member, sorted by id (deterministic order).
    pub(crate) fn iter_sorted(&self) -> Vec<Member> {
        let mut all: Vec<Member> = self.table.iter().map(|e| e.view(&self.v6)).collect();
        all.sort_by_key(|m| m.id);
        all
    }

    /// Adds or takes away (XOR) `id`'s fingerprint in its bucket summary.
    fn toggle_digest(&mut self, id: &NodeId, live: bool) {
        let h = hash(&id.addr);
        self.digests[bucket_of(h, DIGEST_BUCKETS)] ^= fingerprint(h, id.version, live);
    }

    /// The summary of `bucket` when the hash space is split into `buckets`
    /// (a power of two, at most [`DIGEST_BUCKETS`]): the XOR of the finest
    /// summaries it spans.
    pub(crate) fn bucket_summary(&self, buckets: usize, bucket: usize) -> u64 {
        let span = DIGEST_BUCKETS / buckets;
        self.digests[bucket * span..(bucket + 1) * span]
            .iter()
            .fold(0, |acc, d| acc ^ d)
    }

    /// Hands every member of the buckets marked in `wanted` (one flag per
    /// bucket of `buckets`) to `keep`, bucket by bucket in ascending order
    /// and in table order within a bucket, until it returns false. One walk
    /// of the table, whatever the number of buckets.
    pub(crate) fn bucket_members(
        &self,
        buckets: usize,
        wanted: &[bool],
        mut keep: impl FnMut(Member) -> bool,
    ) {
        debug_assert_eq!(wanted.len(), buckets);
        let mut found: Vec<(u16, u32)> = Vec::new();
        let only = wanted.iter().filter(|w| **w).count() == 1;
        for at in self.table.iter_buckets() {
            let e = self.entry(at as u32);
            let bucket = bucket_of(hash(&e.addr(&self.v6)), buckets);
            if !wanted[bucket] {
                continue;
            }
            if only {
                // One bucket: no order to sort out, stop as soon as full.
                if !keep(e.view(&self.v6)) {
                    return;
                }
            } else {
                found.push((bucket as u16, at as u32));
            }
        }
        found.sort_by_key(|(bucket, _)| *bucket);
        for (_, at) in found {
            if !keep(self.entry(at).view(&self.v6)) {
                return;
            }
        }
    }

    /// The member list for a join response, within `budget` encoded bytes:
    /// everyone if it fits (the common case, no sorting), else the newest
    /// changes first.
    pub(crate) fn join_response(&self, budget: usize) -> Vec<MemberUpdate> {
        // An entry never encodes above this (IPv6, 9-byte version and
        // incarnation, longest state name).
        if self.len().saturating_mul(LARGEST_ENTRY) <= budget {
            return self.table.iter().map(|e| e.update(&self.v6)).collect();
        }
        let mut out = Vec::new();
        let mut used = 5;
        for update in self.newest_first() {
            let size = rumor_wire::encoded_len(&update);
            if used + size > budget {
                break;
            }
            used += size;
            out.push(update);
        }
        out
    }

    /// Every entry, newest changes first.
    fn newest_first(&self) -> Vec<MemberUpdate> {
        let mut all: Vec<(u32, MemberUpdate)> = self
            .table
            .iter()
            .map(|e| (e.changed, e.update(&self.v6)))
            .collect();
        // Wrapping sequence numbers: order by age relative to the latest.
        let latest = self.next_change;
        all.sort_by_key(|(changed, u)| (latest.wrapping_sub(*changed), u.node));
        all.into_iter().map(|(_, u)| u).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn id(port: u16, version: u64) -> NodeId {
        NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(version))
    }

    #[test]
    fn choose_live_is_distinct_and_excludes() {
        let mut list = MemberList::new(id(1000, 1), Time::ZERO);
        for p in 0..50 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        }
        list.set_state(&id(7, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
        let mut rng = SmallRng::seed_from_u64(3);
        for k in [1, 3, 10, 40, 60] {
            let mut out = Vec::new();
            list.choose_live(&mut rng, k, &[id(0, 1)], &mut out);
            assert_eq!(out.len(), k.min(48));
            let mut dedup = out.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), out.len());
            assert!(!out.contains(&id(0, 1)) && !out.contains(&id(7, 1)));
        }
    }

    proptest::proptest! {
        /// The table against a plain map under any mix of inserts, state
        /// changes, removals, lookups of newer versions and exact reservations (tables of
        /// any length, not only powers of two) over a few dozen addresses
        /// (many collisions, growth, and entries shifting back into holes):
        /// every lookup, the live set and the bucket summaries agree.
        #[test]
        fn agrees_with_a_map_model(
            ops in proptest::collection::vec((0u8..6, 0u16..48, 1u64..3, 0u8..4), 1..300)
        ) {
            use std::collections::BTreeMap;
            let me = id(1000, 1);
            let mut list = MemberList::new(me, Time::ZERO);
            let mut model: BTreeMap<SocketAddr, (NodeId, MemberState, Incarnation)> = BTreeMap::new();
            let states = [MemberState::Alive, MemberState::Suspect, MemberState::Failed, MemberState::Left];
            for (step, (op, port, version, state)) in ops.into_iter().enumerate() {
                let node = id(port, version);
                let state = states[state as usize];
                let at = Time::from_millis(step as u64);
                match op {
                    0 => {
                        if let std::collections::btree_map::Entry::Vacant(slot) = model.entry(node.addr) {
                            list.insert(node, state, Incarnation(step as u64), at);
                            slot.insert((node, state, Incarnation(step as u64)));
                        }
                    }
                    1 => {
                        if let Some(entry) = model.get_mut(&node.addr).filter(|e| e.0 == node) {
                            *entry = (node, state, Incarnation(step as u64));
                        }
                        list.set_state(&node, state, Incarnation(step as u64), at);
                    }
                    2 => {
                        let listed = model.get(&node.addr).is_some_and(|e| e.0 == node);
                        proptest::prop_assert_eq!(list.remove(&node).is_some(), listed);
                        if listed {
                            model.remove(&node.addr);
                        }
                    }
                    3 => {
                        let listed = model.get(&node.addr).map(|e| e.0);
                        proptest::prop_assert_eq!(list.superseded_by(&node), listed.filter(|l| l.is_superseded_by(&node)));
                    }
                    4 => list.reserve_exact(usize::from(port)),
                    _ => {}
                }
                proptest::prop_assert_eq!(list.len(), model.len() + 1);
                let mut live: Vec<NodeId> = (0..list.live_len()).filter_map(|p| list.live_at(p)).collect();
                live.sort();
                let mut expected: Vec<NodeId> = model
                    .values()
                    .filter(|e| matches!(e.1, MemberState::Alive | MemberState::Suspect))
                    .map(|e| e.0)
                    .collect();
                expected.sort();
                proptest::prop_assert_eq!(live, expected);
                for (node, state, incarnation) in model.values() {
                    let member = list.get(node);
                    proptest::prop_assert!(member.is_some_and(|m| m.state == *state && m.incarnation == *incarnation));
                }
                proptest::prop_assert!(list.get(&me).is_some());
                let mut digests = vec![0u64; DIGEST_BUCKETS];
                let everyone = model.values().copied().chain([(me, MemberState::Alive, Incarnation(0))]);
                for (node, state, _) in everyone {
                    let h = hash(&node.addr);
                    digests[bucket_of(h, DIGEST_BUCKETS)] ^= fingerprint(h, node.version, is_live(state));
                }
                proptest::prop_assert!(list.digests == digests, "bucket summaries drifted");
            }
        }
    }

    /// Every live member's entry points back at its place in the live set,
    /// and every place at a live member.
    fn assert_live_set_consistent(list: &MemberList) {
        for (pos, slot) in list.live.iter().enumerate() {
            let entry = list.entry(*slot);
            assert_eq!(entry.live_pos as usize, pos);
            assert!(entry.is_live());
        }
    }

    #[test]
    fn the_live_set_follows_entries_through_growth_and_rehash() {
        // Growth from one entry, then churn: removals leave deleted
        // buckets, which the table reclaims by rehashing in place; each
        // rehash moves entries, and the live set must move with them.
        let me = id(60_000, 1);
        let mut list = MemberList::new(me, Time::ZERO);
        for p in 0..3_000 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
            if p % 97 == 0 {
                assert_live_set_consistent(&list);
            }
        }
        assert_live_set_consistent(&list);
        let buckets = list.slot_count();
        let mut rng = SmallRng::seed_from_u64(5);
        let mut version = 1;
        for round in 0..20 {
            version += 1;
            for p in 0..3_000 {
                if rng.random_range(0..3) == 0 {
                    let old = list.get(&id(p, version - 1)).map(|m| m.id);
                    if let Some(old) = old {
                        assert!(list.remove(&old).is_some());
                    }
                }
            }
            for p in 0..3_000 {
                if list.get(&id(p, version - 1)).is_some() {
                    let old = id(p, version - 1);
                    list.remove(&old);
                }
                list.insert(
                    id(p, version),
                    MemberState::Alive,
                    Incarnation(0),
                    Time::ZERO,
                );
            }
            assert_live_set_consistent(&list);
            assert_eq!(list.len(), 3_001, "round {round}");
            assert_eq!(list.live_len(), 3_000);
        }
        assert_eq!(list.slot_count(), buckets, "churn does not grow the table");
        for p in 0..3_000 {
            assert!(list.get(&id(p, version)).is_some());
            assert_eq!(list.standing(&id(p, version - 1)), Standing::Gone);
        }
    }

    #[test]
    fn a_slot_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 32);
    }

    #[test]
    fn ipv6_members_keep_their_whole_address_and_their_table_slot_is_reused() {
        let v6 = |port: u16, scope: u32, version: u64| {
            let ip = "fe80::1".parse().unwrap();
            NodeId::new(
                SocketAddr::V6(SocketAddrV6::new(ip, port, 7, scope)),
                Version(version),
            )
        };
        let me = v6(1, 3, 1);
        let mut list = MemberList::new(me, Time::ZERO);
        let other = v6(2, 4, 1);
        list.insert(other, MemberState::Alive, Incarnation(2), Time::ZERO);
        list.insert(id(9, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        assert_eq!(
            list.get(&me).map(|m| m.id),
            Some(me),
            "scope id and flow info kept"
        );
        assert_eq!(list.get(&other).unwrap().incarnation, Incarnation(2));
        assert!(
            list.get(&v6(2, 5, 1)).is_none(),
            "another scope is another address"
        );
        assert_eq!(list.iter_sorted().len(), 3);
        list.remove(&other);
        assert!(list.get(&other).is_none());
        let again = v6(3, 4, 1);
        list.insert(again, MemberState::Alive, Incarnation(0), Time::ZERO);
        assert_eq!(list.v6.len(), 2, "the freed table slot is reused");
        assert_eq!(list.get(&again).map(|m| m.id), Some(again));
        assert_eq!(list.get(&me).map(|m| m.id), Some(me));
    }

    #[test]
    fn largest_entry_bound_holds() {
        let addr: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
            .parse()
            .unwrap();
        let update = MemberUpdate {
            node: NodeId::new(addr, Version(u64::MAX)),
            state: MemberState::Suspect,
            incarnation: Incarnation(u64::MAX),
        };
        assert!(rumor_wire::encoded_len(&update) <= LARGEST_ENTRY);
    }

    #[test]
    fn join_response_fits_the_budget_newest_first() {
        let mut list = MemberList::new(id(1, 1), Time::ZERO);
        for p in 2..200 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        }
        assert_eq!(list.join_response(1 << 20).len(), 199);
        let small = list.join_response(1000);
        assert!(rumor_wire::encoded_len(&small) <= 1000);
        assert_eq!(small[0].node, id(199, 1), "newest first");
    }

    #[test]
    fn standing_tracks_versions_and_tombstones() {
        let mut list = MemberList::new(id(1, 1), Time::ZERO);
        list.insert(id(2, 5), MemberState::Alive, Incarnation(0), Time::ZERO);
        assert_eq!(list.standing(&id(2, 5)), Standing::Known);
        assert_eq!(list.standing(&id(2, 4)), Standing::Gone);
        assert_eq!(list.standing(&id(2, 6)), Standing::Unknown);
        assert_eq!(list.superseded_by(&id(2, 6)), Some(id(2, 5)));
        list.set_state(&id(2, 5), MemberState::Failed, Incarnation(0), Time::ZERO);
        assert_eq!(list.live_len(), 0);
        list.remove(&id(2, 5));
        assert_eq!(list.standing(&id(2, 5)), Standing::Gone);
        assert_eq!(list.standing(&id(2, 6)), Standing::Unknown);
    }

    /// What a summary must be: the XOR of the fingerprints of the bucket's
    /// members, found by scanning every member.
    fn scanned(list: &MemberList, buckets: usize, bucket: usize) -> (Vec<NodeId>, u64) {
        let mut ids = Vec::new();
        let mut summary = 0;
        for m in list.iter_sorted() {
            let h = hash(&m.id.addr);
            if bucket_of(h, buckets) == bucket {
                ids.push(m.id);
                summary ^= fingerprint(h, m.id.version, m.is_live());
            }
        }
        (ids, summary)
    }

    #[test]
    fn bucket_summaries_and_members_agree_with_a_full_scan() {
        let mut list = MemberList::new(id(60_000, 1), Time::ZERO);
        for p in 0..1_500 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        }
        for p in (0..1_500).step_by(7) {
            list.set_state(&id(p, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
        }
        for p in (0..1_500).step_by(11) {
            list.remove(&id(p, 1));
        }
        for p in (0..1_500).step_by(13) {
            list.set_state(&id(p, 1), MemberState::Suspect, Incarnation(2), Time::ZERO);
        }
        for bits in 0..=DIGEST_BITS {
            let buckets = 1 << bits;
            for bucket in 0..buckets {
                let (ids, summary) = scanned(&list, buckets, bucket);
                assert_eq!(list.bucket_summary(buckets, bucket), summary);
                let mut found = Vec::new();
                let mut wanted = vec![false; buckets];
                wanted[bucket] = true;
                list.bucket_members(buckets, &wanted, |m| {
                    found.push(m.id);
                    true
                });
                found.sort();
                assert_eq!(found, ids, "bucket {bucket} of {buckets}");
            }
        }
        // Suspicion does not change a summary; failure does.
        let before = list.bucket_summary(1, 0);
        list.set_state(&id(1, 1), MemberState::Suspect, Incarnation(0), Time::ZERO);
        assert_eq!(list.bucket_summary(1, 0), before);
        list.set_state(&id(1, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
        assert_ne!(list.bucket_summary(1, 0), before);
    }

    #[test]
    fn a_copy_lists_the_same_members_with_its_own_live_set() {
        let mut list = MemberList::new(id(1, 1), Time::ZERO);
        for p in 2..40 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        }
        list.set_state(&id(7, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
        assert!(
            list.copy_for(id(7, 1)).is_none(),
            "a failed member copies nothing"
        );
        assert!(
            list.copy_for(id(99, 1)).is_none(),
            "an unlisted one neither"
        );
        let ids = |l: &MemberList| {
            l.iter_sorted()
                .iter()
                .map(|m| (m.id, m.state))
                .collect::<Vec<_>>()
        };
        let live = |l: &MemberList| {
            let mut v: Vec<NodeId> = (0..l.live_len()).filter_map(|p| l.live_at(p)).collect();
            v.sort();
            v
        };
        for me in [id(5, 1), id(1, 1)] {
            let copy = list.copy_for(me).expect("listed alive");
            assert_eq!(ids(&copy), ids(&list));
            let mut expected: Vec<NodeId> = (1..40)
                .filter(|&p| p != 7)
                .map(|p| id(p, 1))
                .filter(|m| *m != me)
                .collect();
            expected.sort();
            assert_eq!(live(&copy), expected, "live: everyone alive but {me}");
            for (pos, slot) in copy.live.iter().enumerate() {
                assert_eq!(copy.entry(*slot).live_pos as usize, pos);
            }
        }
    }
}
