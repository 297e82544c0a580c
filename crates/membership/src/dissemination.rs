//! Piggybacked dissemination: the queue of membership changes still to be
//! told, each sent a bounded number of times (λ·log n), fewest-sent and
//! newest first.
//!
//! One entry per member: a newer change about a member replaces the older
//! one and starts its retransmit count afresh. Choosing what to piggyback is
//! O(k log q) for k entries out of a queue of q, independent of the cluster
//! size.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use rumor_wire::{MemberUpdate, NodeId, encoded_len};

use crate::member_list::Map;

#[derive(Debug, Clone)]
struct Entry {
    update: MemberUpdate,
    transmits: u32,
    seq: u64,
    size: usize,
}

/// The dissemination queue.
#[derive(Debug, Default)]
pub(crate) struct Dissemination {
    entries: Map<NodeId, Entry>,
    /// (transmits, newest first, member): the order updates are picked in.
    order: BTreeSet<(u32, Reverse<u64>, NodeId)>,
    next_seq: u64,
}

/// The encoded size of a MessagePack array header for `n` elements.
pub(crate) fn array_header_len(n: usize) -> usize {
    match n {
        0..=15 => 1,
        16..=0xffff => 3,
        _ => 5,
    }
}

impl Dissemination {
    /// Queues `update` to be told, replacing any queued change about the
    /// same member.
    pub(crate) fn enqueue(&mut self, update: MemberUpdate) {
        if let Some(old) = self.entries.remove(&update.node) {
            self.order
                .remove(&(old.transmits, Reverse(old.seq), update.node));
        }
        self.next_seq += 1;
        let entry = Entry {
            update,
            transmits: 0,
            seq: self.next_seq,
            size: encoded_len(&update),
        };
        self.order.insert((0, Reverse(entry.seq), update.node));
        self.entries.insert(update.node, entry);
    }

    /// Another member told us exactly this change again: the news is
    /// spreading without us, so it counts as one of our transmits
    /// (rumor mongering with feedback, Demers et al.). Keeps join storms
    /// from retransmitting what everyone already knows.
    /// Only once this node sent the change `floor` times itself: everyone
    /// does a first share of the telling, whatever it hears.
    pub(crate) fn heard_again(&mut self, update: &MemberUpdate, floor: u32, limit: u32) {
        let Some(entry) = self.entries.get_mut(&update.node) else {
            return;
        };
        if entry.update != *update || entry.transmits < floor {
            return;
        }
        let old = (entry.transmits, Reverse(entry.seq), update.node);
        self.order.remove(&old);
        entry.transmits += 1;
        if entry.transmits >= limit {
            self.entries.remove(&update.node);
        } else {
            self.order.insert((entry.transmits, old.1, old.2));
        }
    }

    /// Removes any queued change about `member`.
    pub(crate) fn forget(&mut self, member: &NodeId) {
        if let Some(old) = self.entries.remove(member) {
            self.order
                .remove(&(old.transmits, Reverse(old.seq), *member));
        }
    }

    /// Changes still queued.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether a change about `member` is queued.
    #[cfg(test)]
    pub(crate) fn contains(&self, member: &NodeId) -> bool {
        self.entries.contains_key(member)
    }

    /// Picks up to `max_entries` changes whose encoding, as a MessagePack
    /// array, fits in `budget` bytes; counts one transmit for each and drops
    /// those that reached `limit` transmits. Appends to `out` and returns the
    /// encoded size of the array.
    pub(crate) fn take(
        &mut self,
        budget: usize,
        max_entries: usize,
        limit: u32,
        skip: Option<&NodeId>,
        out: &mut Vec<MemberUpdate>,
    ) -> usize {
        let mut used = array_header_len(max_entries.min(self.entries.len()));
        if used > budget {
            return 0;
        }
        let mut picked: Vec<(u32, Reverse<u64>, NodeId)> = Vec::new();
        // Look a little past entries that do not fit (IPv6 entries are
        // larger), but never scan the whole queue.
        let mut misses = 0;
        for key in self.order.iter() {
            if picked.len() == max_entries || misses > 8 {
                break;
            }
            if skip == Some(&key.2) {
                continue;
            }
            let entry = &self.entries[&key.2];
            if used + entry.size > budget {
                misses += 1;
                continue;
            }
            used += entry.size;
            out.push(entry.update);
            picked.push(*key);
        }
        for key in picked {
            self.order.remove(&key);
            let entry = self
                .entries
                .get_mut(&key.2)
                .expect("every ordered key has an entry");
            entry.transmits += 1;
            if entry.transmits >= limit {
                self.entries.remove(&key.2);
            } else {
                self.order.insert((entry.transmits, key.1, key.2));
            }
        }
        used
    }
}

/// The retransmit limit λ·ceil(log2(n + 1)) for a cluster of `n` members.
pub(crate) fn retransmit_limit(mult: u32, n: usize) -> u32 {
    let log = usize::BITS - n.leading_zeros(); // ceil(log2(n + 1)) for n >= 1
    mult.max(1) * log.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::{Incarnation, MemberState, Version};
    use std::net::SocketAddr;

    fn update(port: u16, inc: u64) -> MemberUpdate {
        MemberUpdate {
            node: NodeId::new(SocketAddr::from(([10, 0, 0, 1], port)), Version(1)),
            state: MemberState::Alive,
            incarnation: Incarnation(inc),
        }
    }

    #[test]
    fn newest_first_and_bounded_retransmits() {
        let mut queue = Dissemination::default();
        queue.enqueue(update(1, 0));
        queue.enqueue(update(2, 0));
        let mut out = Vec::new();
        queue.take(1000, 1, 3, None, &mut out);
        assert_eq!(out, vec![update(2, 0)]);
        out.clear();
        queue.take(1000, 1, 3, None, &mut out);
        assert_eq!(out, vec![update(1, 0)], "fewest transmits first");
        for _ in 0..10 {
            out.clear();
            queue.take(1000, 8, 3, None, &mut out);
        }
        assert_eq!(queue.len(), 0, "every entry sent its 3 times then dropped");
    }

    #[test]
    fn newer_change_replaces_older_and_resets_count() {
        let mut queue = Dissemination::default();
        queue.enqueue(update(1, 0));
        let mut out = Vec::new();
        queue.take(1000, 8, 5, None, &mut out);
        queue.enqueue(update(1, 1));
        assert_eq!(queue.len(), 1);
        out.clear();
        queue.take(1000, 8, 5, None, &mut out);
        assert_eq!(out, vec![update(1, 1)]);
        assert!(queue.contains(&update(1, 1).node));
    }

    #[test]
    fn respects_the_byte_budget_exactly() {
        let mut queue = Dissemination::default();
        for p in 0..100 {
            queue.enqueue(update(p, p as u64));
        }
        let mut out = Vec::new();
        let used = queue.take(300, 100, 5, None, &mut out);
        assert!(used <= 300);
        assert!(
            rumor_wire::encoded_len(&out) <= used,
            "the header is counted at its largest"
        );
        assert!(!out.is_empty());
    }

    #[test]
    fn hearing_the_same_news_again_counts_as_a_transmit() {
        let mut queue = Dissemination::default();
        queue.enqueue(update(1, 0));
        queue.heard_again(&update(1, 0), 1, 2); // not sent once yet: no effect
        let mut out = Vec::new();
        queue.take(1000, 8, 3, None, &mut out);
        queue.heard_again(&update(1, 1), 1, 3); // different news: no effect
        assert!(queue.contains(&update(1, 0).node));
        queue.heard_again(&update(1, 0), 1, 3);
        assert!(queue.contains(&update(1, 0).node));
        queue.heard_again(&update(1, 0), 1, 3);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn limit_grows_with_log_n() {
        assert_eq!(retransmit_limit(4, 1), 4);
        assert_eq!(retransmit_limit(4, 10), 16);
        assert_eq!(retransmit_limit(4, 10_000), 56);
    }
}
