//! Internals exposed for the workspace's benchmarks only (the `internals`
//! feature, off by default): not part of the crate's API, and free to
//! change with any commit.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rumor_wire::{Incarnation, MemberState, NodeId};

use crate::Time;
use crate::member_list::MemberList;

/// One node's member table, as the core keeps it, with a seeded generator
/// for sampling.
#[derive(Debug)]
pub struct MemberTable {
    list: MemberList,
    rng: SmallRng,
    out: Vec<NodeId>,
}

impl MemberTable {
    /// A table holding only `me`.
    pub fn new(me: NodeId, seed: u64) -> MemberTable {
        MemberTable {
            list: MemberList::new(me, Time::ZERO),
            rng: SmallRng::seed_from_u64(seed),
            out: Vec::new(),
        }
    }

    /// Makes room for `additional` members at once (as a join response does).
    pub fn reserve(&mut self, additional: usize) {
        self.list.reserve_exact(additional);
    }

    /// Lists `id` alive; it must not be listed yet.
    pub fn insert(&mut self, id: NodeId) {
        self.list
            .insert(id, MemberState::Alive, Incarnation(0), Time::ZERO);
    }

    /// Whether `id` is listed (the lookup every received update makes).
    pub fn contains(&self, id: &NodeId) -> bool {
        self.list.get(id).is_some()
    }

    /// Marks `id` suspected then alive again at a newer incarnation (two
    /// state changes, as a refuted suspicion makes).
    pub fn flap(&mut self, id: &NodeId, incarnation: u64) {
        self.list.set_state(
            id,
            MemberState::Suspect,
            Incarnation(incarnation),
            Time::ZERO,
        );
        self.list.set_state(
            id,
            MemberState::Alive,
            Incarnation(incarnation + 1),
            Time::ZERO,
        );
    }

    /// Deletes `id` (leaving a tombstone); whether it was listed.
    pub fn remove(&mut self, id: &NodeId) -> bool {
        self.list.remove(id).is_some()
    }

    /// Chooses `k` distinct live members uniformly at random; returns how
    /// many it found.
    pub fn sample(&mut self, k: usize) -> usize {
        self.out.clear();
        self.list.choose_live(&mut self.rng, k, &[], &mut self.out);
        self.out.len()
    }

    /// The members of anti-entropy bucket `bucket` of `buckets`, counted
    /// (the walk a digest answer makes).
    pub fn bucket_len(&mut self, buckets: usize, bucket: usize) -> usize {
        let mut n = 0;
        self.list.bucket_members(buckets, bucket, |_| {
            n += 1;
            true
        });
        n
    }

    /// Members listed, this node included.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether only this node is listed.
    pub fn is_empty(&self) -> bool {
        self.list.len() <= 1
    }
}
