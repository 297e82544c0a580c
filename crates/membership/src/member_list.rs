//! The member list: every known member keyed by [`NodeId`], with the indexes
//! that keep per-message work independent of the cluster size.
//!
//! Besides the entries themselves it keeps: the current version per address
//! (a newer version supersedes an older one), tombstones (the highest version
//! of each address known to be gone, so a failed or left member never comes
//! back under the same version, even after removal), and an indexed set of
//! live members for O(1) uniform random choice.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::net::SocketAddr;

use rand::Rng;
use rumor_wire::{Incarnation, MemberState, MemberUpdate, NodeId, Version};

use crate::Time;

/// A hash map with a fixed hasher: no OS randomness, and the same seed gives
/// the same run.
pub(crate) type Map<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// One member as this node sees it.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) id: NodeId,
    pub(crate) state: MemberState,
    pub(crate) incarnation: Incarnation,
    /// When the state last changed.
    pub(crate) since: Time,
    /// Monotonic sequence number of the last change (newest changes first).
    pub(crate) changed: u64,
    /// While suspected: when the suspicion turns into failure.
    pub(crate) suspect_deadline: Option<Time>,
    /// While failed or left: when the entry is removed.
    pub(crate) remove_at: Option<Time>,
    /// Suspicions at or below this incarnation are ignored: this node saw
    /// direct evidence of life after them.
    pub(crate) cleared_upto: Option<Incarnation>,
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
        matches!(self.state, MemberState::Alive | MemberState::Suspect)
    }
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

    /// Up to `k` distinct members chosen uniformly, none in `exclude`.
    /// Expected O(k) for k much smaller than the set.
    pub(crate) fn choose(
        &self,
        rng: &mut impl Rng,
        k: usize,
        exclude: &[NodeId],
        out: &mut Vec<NodeId>,
    ) {
        let n = self.items.len();
        let eligible = n - exclude
            .iter()
            .filter(|e| self.index.contains_key(e))
            .count();
        let want = k.min(eligible);
        if want == 0 {
            return;
        }
        let start = out.len();
        if want * 2 >= n {
            // Dense: a partial Fisher-Yates over a copy would cost O(n); a
            // single random rotation through the items is enough and is O(n)
            // only when k is a large share of n anyway.
            let offset = rng.random_range(0..n);
            for step in 0..n {
                if out.len() - start == want {
                    break;
                }
                let id = self.items[(offset + step) % n];
                if !exclude.contains(&id) {
                    out.push(id);
                }
            }
            // Shuffle the picked prefix so the rotation order does not leak.
            for i in (start + 1..out.len()).rev() {
                let j = rng.random_range(start..=i);
                out.swap(i, j);
            }
            return;
        }
        while out.len() - start < want {
            let id = self.items[rng.random_range(0..n)];
            if !exclude.contains(&id) && !out[start..].contains(&id) {
                out.push(id);
            }
        }
    }
}

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

/// Every known member, with indexes.
#[derive(Debug)]
pub(crate) struct MemberList {
    me: NodeId,
    members: Map<NodeId, Member>,
    by_addr: Map<SocketAddr, NodeId>,
    tombstones: Map<SocketAddr, Version>,
    live: IndexedSet,
    listed: IndexedSet,
    sync_cursor: usize,
    next_change: u64,
}

impl MemberList {
    /// A list holding only `me`, alive.
    pub(crate) fn new(me: NodeId, now: Time) -> MemberList {
        let mut list = MemberList {
            me,
            members: Map::default(),
            by_addr: Map::default(),
            tombstones: Map::default(),
            live: IndexedSet::default(),
            listed: IndexedSet::default(),
            sync_cursor: 0,
            next_change: 0,
        };
        list.insert(me, MemberState::Alive, Incarnation(0), now);
        list
    }

    pub(crate) fn standing(&self, id: &NodeId) -> Standing {
        if self.members.contains_key(id) {
            return Standing::Known;
        }
        if self
            .tombstones
            .get(&id.addr)
            .is_some_and(|dead| *dead >= id.version)
        {
            return Standing::Gone;
        }
        if self
            .by_addr
            .get(&id.addr)
            .is_some_and(|current| current.version > id.version)
        {
            return Standing::Gone;
        }
        Standing::Unknown
    }

    /// The member currently listed at `id`'s address, if it is an older
    /// version than `id`.
    pub(crate) fn superseded_by(&self, id: &NodeId) -> Option<NodeId> {
        self.by_addr
            .get(&id.addr)
            .copied()
            .filter(|current| current.is_superseded_by(id))
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&Member> {
        self.members.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &NodeId) -> Option<&mut Member> {
        self.members.get_mut(id)
    }

    /// Adds a member that is not in the list. The caller checked
    /// [`MemberList::standing`] is `Unknown` and removed any older version.
    pub(crate) fn insert(
        &mut self,
        id: NodeId,
        state: MemberState,
        incarnation: Incarnation,
        now: Time,
    ) {
        let changed = self.bump();
        self.members.insert(
            id,
            Member {
                id,
                state,
                incarnation,
                since: now,
                changed,
                suspect_deadline: None,
                remove_at: None,
                cleared_upto: None,
            },
        );
        self.by_addr.insert(id.addr, id);
        if id != self.me {
            self.listed.insert(id);
            if matches!(state, MemberState::Alive | MemberState::Suspect) {
                self.live.insert(id);
            }
        }
    }

    /// Records a state change of a listed member, keeping the indexes.
    pub(crate) fn set_state(
        &mut self,
        id: &NodeId,
        state: MemberState,
        incarnation: Incarnation,
        now: Time,
    ) {
        let changed = self.bump();
        let me = self.me;
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        member.state = state;
        member.incarnation = incarnation;
        member.since = now;
        member.changed = changed;
        if state != MemberState::Suspect {
            member.suspect_deadline = None;
        }
        let live = member.is_live();
        if *id != me {
            if live {
                self.live.insert(*id);
            } else {
                self.live.remove(id);
            }
        }
        if !live {
            self.tombstones
                .entry(id.addr)
                .and_modify(|v| *v = (*v).max(id.version))
                .or_insert(id.version);
        }
    }

    /// Deletes a member from the list, leaving a tombstone for its version.
    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<Member> {
        let member = self.members.remove(id)?;
        self.live.remove(id);
        self.listed.remove(id);
        if self.by_addr.get(&id.addr) == Some(id) {
            self.by_addr.remove(&id.addr);
        }
        self.tombstones
            .entry(id.addr)
            .and_modify(|v| *v = (*v).max(id.version))
            .or_insert(id.version);
        Some(member)
    }

    /// Records `id` as gone without ever listing it.
    pub(crate) fn bury(&mut self, id: &NodeId) {
        self.tombstones
            .entry(id.addr)
            .and_modify(|v| *v = (*v).max(id.version))
            .or_insert(id.version);
    }

    fn bump(&mut self) -> u64 {
        self.next_change += 1;
        self.next_change
    }

    /// Live members other than this node.
    pub(crate) fn live(&self) -> &IndexedSet {
        &self.live
    }

    /// Number of members in the list, this node included, any state.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Live members, this node included.
    pub(crate) fn live_count(&self) -> usize {
        self.live.len() + 1
    }

    /// Every member, sorted by id (deterministic order).
    pub(crate) fn iter_sorted(&self) -> Vec<&Member> {
        let mut all: Vec<&Member> = self.members.values().collect();
        all.sort_by_key(|m| m.id);
        all
    }

    /// Appends listed members (others than this node) in rotating order
    /// while their encoding fits in `budget` bytes; successive calls walk the
    /// whole list.
    pub(crate) fn fill_sync_slice(&mut self, budget: usize, out: &mut Vec<MemberUpdate>) {
        let n = self.listed.len();
        let mut used = 0;
        for _ in 0..n {
            self.sync_cursor %= n;
            let id = self
                .listed
                .get(self.sync_cursor)
                .expect("cursor was reduced modulo the listed count");
            let Some(member) = self.members.get(&id) else {
                self.sync_cursor += 1;
                continue;
            };
            let update = member.update();
            let size = rumor_wire::encoded_len(&update);
            if used + size > budget {
                return;
            }
            used += size;
            out.push(update);
            self.sync_cursor += 1;
        }
    }

    /// Up to `max` entries, newest changes first.
    pub(crate) fn newest_first(&self, max: usize) -> Vec<MemberUpdate> {
        let mut all: Vec<&Member> = self.members.values().collect();
        all.sort_by_key(|m| (std::cmp::Reverse(m.changed), m.id));
        all.into_iter().take(max).map(Member::update).collect()
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
    fn indexed_set_choose_is_distinct_and_excludes() {
        let mut set = IndexedSet::default();
        for p in 0..50 {
            set.insert(id(p, 1));
        }
        set.remove(&id(7, 1));
        let mut rng = SmallRng::seed_from_u64(3);
        for k in [1, 3, 10, 40, 60] {
            let mut out = Vec::new();
            set.choose(&mut rng, k, &[id(0, 1)], &mut out);
            assert_eq!(out.len(), k.min(48));
            let mut dedup = out.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), out.len());
            assert!(!out.contains(&id(0, 1)) && !out.contains(&id(7, 1)));
        }
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
        assert_eq!(list.live().len(), 0);
        list.remove(&id(2, 5));
        assert_eq!(list.standing(&id(2, 5)), Standing::Gone);
        assert_eq!(list.standing(&id(2, 6)), Standing::Unknown);
    }

    #[test]
    fn sync_slices_rotate_through_everyone() {
        let mut list = MemberList::new(id(1, 1), Time::ZERO);
        for p in 2..12 {
            list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        }
        let mut seen = Vec::new();
        let entry = rumor_wire::encoded_len(&list.get(&id(2, 1)).unwrap().update());
        for _ in 0..4 {
            let before = seen.len();
            list.fill_sync_slice(3 * entry, &mut seen);
            assert_eq!(seen.len() - before, 3);
        }
        let mut ports: Vec<u16> = seen.iter().map(|u| u.node.addr.port()).collect();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 10);
    }
}
