//! Uniform random choice: of live members (the list's live positions), and
//! of the members of an [`IndexedSet`].

use rand::Rng;
use rumor_wire::NodeId;

use super::Map;

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
pub(super) fn choose_distinct(
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
