//! The member list: every known member keyed by [`NodeId`], with the indexes
//! that keep per-message work independent of the cluster size.
//!
//! Members sit in an open-addressing table keyed by listening address
//! ([`Table`]): a lookup reads one cache line, and the members of an
//! anti-entropy bucket sit in a range of slots. Besides the entries the
//! list keeps: the current version per address (a newer version supersedes
//! an older one), tombstones (the highest version of each address known to
//! be gone, so a failed or left member never comes back under the same
//! version, even after removal), an indexed set of live members for O(1)
//! uniform random choice (their slots; slots move when the table grows or
//! an entry shifts back into a hole, and the set moves with them), a
//! summary per anti-entropy bucket ([`Summaries`]), and the metadata of
//! members that have any ([`MetadataStore`]).

mod digest;
mod entry;
mod metadata;
mod sampling;
mod table;
#[cfg(test)]
mod tests;

use std::net::{SocketAddr, SocketAddrV6};

use rand::Rng;
use rumor_wire::{Incarnation, MemberState, MemberUpdate, Metadata, NodeId, Version};

use crate::Time;
pub(crate) use digest::DIGEST_BUCKETS;
use digest::Summaries;
pub(crate) use entry::Member;
use entry::{Entry, NOT_LIVE, hash, is_live};
use metadata::MetadataStore;
pub(crate) use sampling::IndexedSet;
use sampling::choose_distinct;
use table::Table;

/// A hash map with a fixed hasher (rustc-hash's FxHash: a few cycles per
/// word, no OS randomness, so the same seed gives the same run). Not
/// resistant to chosen collisions, which is fine for these maps: their
/// keys are member ids and sequence numbers of cluster members, and a
/// collision costs probe length, not correctness.
pub(crate) type Map<K, V> = rustc_hash::FxHashMap<K, V>;

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

/// Every known member, in a table, with indexes.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    me: NodeId,
    table: Table,
    /// Addresses of IPv6 entries (they keep an index here).
    v6: Vec<SocketAddrV6>,
    v6_free: Vec<u32>,
    tombstones: Map<SocketAddr, Version>,
    /// Slots of live members other than this node.
    live: Vec<u32>,
    summaries: Summaries,
    metadata: MetadataStore,
    next_change: u32,
}

impl MemberList {
    /// A list holding only `me`, alive.
    pub(crate) fn new(me: NodeId, now: Time) -> MemberList {
        let mut list = MemberList {
            me,
            table: Table::default(),
            v6: Vec::new(),
            v6_free: Vec::new(),
            tombstones: Map::default(),
            live: Vec::new(),
            summaries: Summaries::new(),
            metadata: MetadataStore::default(),
            next_change: 0,
        };
        list.insert(me, MemberState::Alive, Incarnation(0), now);
        list
    }

    fn entry(&self, slot: u32) -> &Entry {
        self.table.get(slot)
    }

    fn slot_of(&self, addr: &SocketAddr) -> Option<u32> {
        self.table.find(addr, &self.v6)
    }

    fn slot_of_id(&self, id: &NodeId) -> Option<u32> {
        let slot = self.slot_of(&id.addr)?;
        self.entry(slot).is(id, &self.v6).then_some(slot)
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
        let (slot, grew) = self.table.insert(entry, &self.v6);
        if grew {
            self.relink_live();
        }
        let meta = self.metadata.stamp(&id);
        self.summaries
            .toggle(hash(&id.addr), id.version, is_live(state), meta);
        if id != self.me && is_live(state) {
            self.live_insert(slot);
        }
    }

    /// Points the live set at the slots its members moved to (the table
    /// was rebuilt).
    fn relink_live(&mut self) {
        for (slot, entry) in self.table.slots() {
            if entry.live_pos != NOT_LIVE {
                self.live[entry.live_pos as usize] = slot;
            }
        }
    }

    fn live_insert(&mut self, slot: u32) {
        let next = self.live.len() as u32;
        let entry = self.table.get_mut(slot);
        if entry.live_pos == NOT_LIVE {
            entry.live_pos = next;
            self.live.push(slot);
        }
    }

    fn live_remove(&mut self, slot: u32) {
        let entry = self.table.get_mut(slot);
        let pos = entry.live_pos;
        if pos == NOT_LIVE {
            return;
        }
        entry.live_pos = NOT_LIVE;
        self.live.swap_remove(pos as usize);
        if let Some(&moved) = self.live.get(pos as usize) {
            self.table.get_mut(moved).live_pos = pos;
        }
    }

    /// Records a state change of a listed member, keeping the indexes.
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
        let entry = self.table.get_mut(slot);
        let was_live = entry.is_live();
        entry.state = state;
        entry.incarnation = incarnation;
        entry.changed = changed;
        let live = entry.is_live();
        if live != was_live {
            let (addr_hash, meta) = (hash(&id.addr), self.metadata.stamp(id));
            self.summaries.toggle(addr_hash, id.version, was_live, meta);
            self.summaries.toggle(addr_hash, id.version, live, meta);
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
        let live = &mut self.live;
        let entry = self.table.remove(slot, &self.v6, |to, moved| {
            if moved.live_pos != NOT_LIVE {
                live[moved.live_pos as usize] = to;
            }
        });
        let member = entry.view(&self.v6);
        let meta = self.metadata.stamp(id);
        self.summaries
            .toggle(hash(&id.addr), id.version, entry.is_live(), meta);
        self.metadata.remove(id);
        if entry.v6 {
            self.v6_free.push(entry.ip);
        }
        self.bury(id);
        Some(member)
    }

    /// `id`'s metadata and the incarnation at which it set it, if it has
    /// any.
    pub(crate) fn metadata(&self, id: &NodeId) -> Option<(Incarnation, &Metadata)> {
        self.metadata.get(id)
    }

    /// Whether any member has metadata.
    pub(crate) fn has_metadata(&self) -> bool {
        !self.metadata.is_empty()
    }

    /// Sets the metadata of listed member `id`, set at incarnation `at`
    /// (its bucket's summary follows, while it is live). False, changing
    /// nothing, when `id` is not listed.
    pub(crate) fn set_metadata(
        &mut self,
        id: &NodeId,
        at: Incarnation,
        metadata: Metadata,
    ) -> bool {
        let Some(member) = self.get(id) else {
            return false;
        };
        if member.is_live() {
            let (addr_hash, old) = (hash(&id.addr), self.metadata.stamp(id));
            self.summaries.toggle(addr_hash, id.version, true, old);
            self.summaries.toggle(addr_hash, id.version, true, Some(at));
        }
        self.metadata.set(*id, at, metadata);
        true
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

    /// Makes room for `additional` more members at once (a join response),
    /// without the slack of doubling.
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        if self.table.reserve_exact(additional, &self.v6) {
            self.relink_live();
        }
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
        self.table.slot_count()
    }

    /// The member in slot `at` of the table, if any: walking every slot
    /// visits every member, in a deterministic order (not sorted).
    pub(crate) fn in_slot(&self, at: usize) -> Option<Member> {
        self.table.in_slot(at).map(|e| e.view(&self.v6))
    }

    /// Every member, sorted by id (deterministic order).
    pub(crate) fn iter_sorted(&self) -> Vec<Member> {
        let mut all: Vec<Member> = self.table.iter().map(|e| e.view(&self.v6)).collect();
        all.sort_by_key(|m| m.id);
        all
    }

    /// The summary of `bucket` when the hash space is split into `buckets`
    /// (a power of two, at most [`DIGEST_BUCKETS`]), as a digest carries it.
    pub(crate) fn bucket_summary(&self, buckets: usize, bucket: usize) -> u32 {
        self.summaries.of(buckets, bucket)
    }

    /// Hands every member of `bucket` (of `buckets`) to `keep`, in table
    /// order, until it returns false; reads only that bucket's slots.
    pub(crate) fn bucket_members(
        &self,
        buckets: usize,
        bucket: usize,
        mut keep: impl FnMut(Member) -> bool,
    ) {
        let v6 = &self.v6;
        self.table
            .bucket_members(buckets, bucket, v6, |e| keep(e.view(v6)));
    }

    /// The member list for a join response, within `budget` encoded bytes:
    /// everyone if it fits (the common case, no sorting), else the newest
    /// changes first.
    pub(crate) fn join_response(&self, budget: usize) -> Vec<MemberUpdate> {
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
