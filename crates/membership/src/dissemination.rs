//! Piggybacked dissemination: the queue of membership changes still to be
//! told, each sent a bounded number of times (λ·log n, half that for a
//! join), fewest-sent and newest first.
//!
//! One entry per member: a newer change about a member replaces the older
//! one and starts its retransmit count afresh. Choosing what to piggyback is
//! O(k log q) for k entries out of a queue of q, independent of the cluster
//! size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rumor_wire::{Incarnation, MemberState, MemberUpdate, NodeId, update_len};

use crate::member_list::Map;

#[derive(Debug, Clone)]
struct Entry {
    update: MemberUpdate,
    transmits: u32,
    seq: u64,
    size: u32,
}

/// A place in the pick order: fewest transmits first, then urgent news
/// (a suspicion, a refutation, a failure or a leave) before joins, then
/// newest. Keys are never updated in place: a change of an entry pushes a
/// new key and leaves the old one stale (its seq or transmits no longer
/// match the entry), to be dropped when it surfaces.
///
/// Urgency matters in a join storm: every member learns joins faster than
/// it can tell them, and a refutation queued behind thousands of newer
/// joins reached too few members before the suspicion timed out (a live
/// member of a 1,000-node cluster was marked failed by 995 of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    transmits: Reverse<u32>,
    urgent: bool,
    seq: u64,
    slot: u32,
}

/// Whether `update` is more than a join: anything but a member alive at
/// its first incarnation.
fn is_urgent(update: &MemberUpdate) -> bool {
    update.state != MemberState::Alive || update.incarnation > Incarnation(0)
}

/// Whether `update` is news to push at once (see
/// [`Dissemination::take_fresh`]): a failure, a leave, or a refutation (a
/// member alive at a higher incarnation). A suspicion is not: under loss
/// suspicions are the common news, and every push of one made every node
/// send `news_fanout` datagrams for a suspicion refuted a moment later
/// (+31 % simulation time, +5 % bytes at 10,000 nodes and 5 % loss); the
/// prober that raises it tells the suspect, and the piggyback the rest.
fn is_pushed(update: &MemberUpdate) -> bool {
    is_urgent(update) && update.state != MemberState::Suspect
}

/// How many times this node tells `update`: `limit` for urgent news, half
/// of it (at least once) for a join. A join is not urgent, and the members
/// gossip misses are repaired by anti-entropy digests; what every member
/// telling every join the full count costs is the tail of a join storm. At
/// 1,000 nodes joining at once (5 % drop) the half count ends the storm's
/// traffic by 7 s instead of 13 s, at the cost of more gaps for
/// anti-entropy, which completes every view by 13 s.
fn transmit_cap(update: &MemberUpdate, limit: u32) -> u32 {
    if is_urgent(update) {
        limit
    } else {
        (limit / 2).max(1)
    }
}

/// The dissemination queue: entries in a slab, indexed by member, ordered
/// by a binary heap of keys (a flat array: far cheaper to update than a
/// search tree).
#[derive(Debug, Default)]
pub(crate) struct Dissemination {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    index: Map<NodeId, u32>,
    order: BinaryHeap<Key>,
    next_seq: u64,
    /// Keys popped by `take` and not picked, to push back.
    held: Vec<Key>,
    /// News to push queued since [`Dissemination::take_fresh`] last looked.
    fresh: bool,
}

impl Dissemination {
    fn key(slot: u32, entry: &Entry) -> Key {
        Key {
            transmits: Reverse(entry.transmits),
            urgent: is_urgent(&entry.update),
            seq: entry.seq,
            slot,
        }
    }

    fn is_current(&self, key: &Key) -> bool {
        self.slots[key.slot as usize]
            .as_ref()
            .is_some_and(|e| e.seq == key.seq && e.transmits == key.transmits.0)
    }

    fn release(&mut self, slot: u32) {
        if let Some(entry) = self.slots[slot as usize].take() {
            self.index.remove(&entry.update.node);
            self.free.push(slot);
        }
    }

    /// Rebuilds the heap from the live entries once stale keys outnumber
    /// them, so the heap stays within twice the queue.
    fn compact_if_stale(&mut self) {
        if self.order.len() > 2 * self.index.len() + 64 {
            let keys: Vec<Key> = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(slot, e)| e.as_ref().map(|e| Self::key(slot as u32, e)))
                .collect();
            self.order = BinaryHeap::from(keys);
        }
    }

    /// Whether news to push (a failure, a leave, a refutation; not a
    /// suspicion) was queued since the last call.
    pub(crate) fn take_fresh(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// Queues `update` to be told, replacing any queued change about the
    /// same member.
    pub(crate) fn enqueue(&mut self, update: MemberUpdate) {
        self.next_seq += 1;
        self.fresh |= is_pushed(&update);
        let entry = Entry {
            update,
            transmits: 0,
            seq: self.next_seq,
            size: update_len(&update) as u32,
        };
        let key_slot = match self.index.get(&update.node) {
            Some(&slot) => slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.slots.push(None);
                        u32::try_from(self.slots.len() - 1).expect("fewer than 4 billion queued")
                    }
                };
                self.index.insert(update.node, slot);
                slot
            }
        };
        self.order.push(Self::key(key_slot, &entry));
        self.slots[key_slot as usize] = Some(entry);
        self.compact_if_stale();
    }

    /// Another member told us exactly this change again: the news is
    /// spreading without us, so it counts as one of our transmits
    /// (rumor mongering with feedback, Demers et al.). Keeps join storms
    /// from retransmitting what everyone already knows.
    /// Only once this node sent the change `floor` times itself: everyone
    /// does a first share of the telling, whatever it hears.
    pub(crate) fn heard_again(&mut self, update: &MemberUpdate, floor: u32, limit: u32) {
        // Most news heard again is not queued here any more; an empty
        // queue answers without reading its map.
        if self.index.is_empty() {
            return;
        }
        let Some(&slot) = self.index.get(&update.node) else {
            return;
        };
        let entry = self.slots[slot as usize]
            .as_mut()
            .expect("indexed slots are occupied");
        if entry.update != *update || entry.transmits < floor {
            return;
        }
        entry.transmits += 1;
        if entry.transmits >= transmit_cap(&entry.update, limit) {
            self.release(slot);
        } else {
            let key = Self::key(slot, entry);
            self.order.push(key);
        }
        self.compact_if_stale();
    }

    /// Removes any queued change about `member`.
    pub(crate) fn forget(&mut self, member: &NodeId) {
        if let Some(&slot) = self.index.get(member) {
            self.release(slot);
        }
    }

    /// Changes to piggyback, whose records take at most `budget` bytes,
    /// for a cluster of `live` members: at most `max_piggyback` in steady
    /// state, up to an eighth of the queue when a backlog (a join storm of
    /// thousands) built up, each told at most λ·log n times (λ = `mult`).
    pub(crate) fn piggyback(
        &mut self,
        budget: usize,
        skip: Option<&NodeId>,
        mult: u32,
        max_piggyback: usize,
        live: usize,
    ) -> Vec<MemberUpdate> {
        self.piggyback_sized(budget, skip, mult, max_piggyback, live, |_| 0)
            .0
    }

    /// [`Dissemination::piggyback`] where each change takes `extra(update)`
    /// bytes more than its record (the metadata sent beside it); returns
    /// the bytes taken too.
    pub(crate) fn piggyback_sized(
        &mut self,
        budget: usize,
        skip: Option<&NodeId>,
        mult: u32,
        max_piggyback: usize,
        live: usize,
        extra: impl Fn(&MemberUpdate) -> usize,
    ) -> (Vec<MemberUpdate>, usize) {
        let limit = retransmit_limit(mult, live);
        let most = max_piggyback.max(self.len() / 8);
        // Sized once: a record takes at least 24 bytes.
        let mut out = Vec::with_capacity(most.min(self.len()).min(budget / 24));
        let used = self.take_sized(budget, most, limit, skip, &mut out, extra);
        (out, used)
    }

    /// Bytes of news waiting to be piggybacked, up to what one message
    /// carries: a detector sizing a large payload leaves this much room.
    pub(crate) fn news_bytes(&self, max_piggyback: usize) -> usize {
        let most = max_piggyback.max(self.len() / 8);
        most.min(self.len()) * 24
    }

    /// Changes still queued.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether a change about `member` is queued.
    #[cfg(test)]
    pub(crate) fn contains(&self, member: &NodeId) -> bool {
        self.index.contains_key(member)
    }

    /// [`Dissemination::take_sized`] with nothing beside the records.
    #[cfg(test)]
    pub(crate) fn take(
        &mut self,
        budget: usize,
        max_entries: usize,
        limit: u32,
        skip: Option<&NodeId>,
        out: &mut Vec<MemberUpdate>,
    ) -> usize {
        self.take_sized(budget, max_entries, limit, skip, out, |_| 0)
    }

    /// Picks up to `max_entries` changes whose records (as a list of
    /// updates is encoded: [`rumor_wire::update_len`] each, the list's own
    /// header not included), each with the `extra(update)` bytes sent
    /// beside it, fit in `budget` bytes; counts one transmit for each and
    /// drops those that reached `limit` transmits. Appends to `out` and
    /// returns the bytes taken.
    fn take_sized(
        &mut self,
        budget: usize,
        max_entries: usize,
        limit: u32,
        skip: Option<&NodeId>,
        out: &mut Vec<MemberUpdate>,
        extra: impl Fn(&MemberUpdate) -> usize,
    ) -> usize {
        let mut used = 0;
        let mut picked = 0;
        // Look a little past entries that do not fit (IPv6 entries are
        // larger), but never scan the whole queue.
        let mut misses = 0;
        while picked < max_entries && misses <= 8 {
            let Some(key) = self.order.pop() else {
                break;
            };
            if !self.is_current(&key) {
                continue;
            }
            let entry = self.slots[key.slot as usize]
                .as_mut()
                .expect("current keys point at occupied slots");
            if skip == Some(&entry.update.node) {
                self.held.push(key);
                continue;
            }
            let size = entry.size as usize + extra(&entry.update);
            if used + size > budget {
                misses += 1;
                self.held.push(key);
                continue;
            }
            used += size;
            out.push(entry.update);
            picked += 1;
            entry.transmits += 1;
            if entry.transmits >= transmit_cap(&entry.update, limit) {
                self.release(key.slot);
            } else {
                let key = Self::key(key.slot, entry);
                self.held.push(key);
            }
        }
        for key in self.held.drain(..) {
            self.order.push(key);
        }
        used
    }
}

/// The retransmit limit for a cluster of `n` members: λ·ceil(log2(n + 1))
/// up to 127 members, then growing by λ per decade (λ·log10, as
/// memberlist counts) rather than by 3.3 λ: 16 at 10 members, 28 at 100,
/// 32 at 1,000, 36 at 10,000 (λ = 4). Feedback (`heard_again`) stops most
/// retransmits early anyway; what the full limit costs at scale is the
/// drain of a join storm, where every member tells every join.
pub(crate) fn retransmit_limit(mult: u32, n: usize) -> u32 {
    let small = n.min(127);
    let log2 = usize::BITS - small.leading_zeros(); // ceil(log2(n + 1)) for n >= 1
    let decades = |m: usize| (m as f64 + 1.0).log10().ceil() as u32;
    let extra = decades(n).saturating_sub(decades(small));
    mult.max(1) * (log2.max(1) + extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Version;
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
        queue.enqueue(update(1, 1));
        queue.enqueue(update(2, 1));
        let mut out = Vec::new();
        queue.take(1000, 1, 3, None, &mut out);
        assert_eq!(out, vec![update(2, 1)]);
        out.clear();
        queue.take(1000, 1, 3, None, &mut out);
        assert_eq!(out, vec![update(1, 1)], "fewest transmits first");
        for _ in 0..10 {
            out.clear();
            queue.take(1000, 8, 3, None, &mut out);
        }
        assert_eq!(queue.len(), 0, "every entry sent its 3 times then dropped");
    }

    #[test]
    fn a_join_is_told_half_as_many_times_as_urgent_news() {
        let mut queue = Dissemination::default();
        let join = update(1, 0);
        let refutation = update(2, 1);
        queue.enqueue(join);
        queue.enqueue(refutation);
        let mut sent = Vec::new();
        for _ in 0..20 {
            queue.take(1000, 8, 8, None, &mut sent);
        }
        assert_eq!(sent.iter().filter(|u| **u == join).count(), 4);
        assert_eq!(sent.iter().filter(|u| **u == refutation).count(), 8);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn urgent_news_goes_before_newer_joins_with_as_few_transmits() {
        let mut queue = Dissemination::default();
        let refutation = update(1, 1);
        queue.enqueue(refutation);
        for p in 2..50 {
            queue.enqueue(update(p, 0)); // joins learned after it
        }
        let mut out = Vec::new();
        queue.take(1000, 1, 5, None, &mut out);
        assert_eq!(out, vec![refutation]);
        out.clear();
        queue.take(1000, 1, 5, None, &mut out);
        assert_eq!(out, vec![update(49, 0)], "then the newest join");
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
        assert_eq!(used, out.iter().map(update_len).sum::<usize>());
        assert_eq!(out.len(), 300 / 24, "24-byte records, as many as fit");
    }

    #[test]
    fn hearing_the_same_news_again_counts_as_a_transmit() {
        let mut queue = Dissemination::default();
        queue.enqueue(update(1, 0));
        queue.heard_again(&update(1, 0), 1, 2); // not sent once yet: no effect
        let mut out = Vec::new();
        queue.take(1000, 8, 6, None, &mut out); // a join: told at most 3 times
        queue.heard_again(&update(1, 1), 1, 6); // different news: no effect
        assert!(queue.contains(&update(1, 0).node));
        queue.heard_again(&update(1, 0), 1, 6);
        assert!(queue.contains(&update(1, 0).node));
        queue.heard_again(&update(1, 0), 1, 6);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn limit_grows_with_log_n() {
        assert_eq!(retransmit_limit(4, 1), 4);
        assert_eq!(retransmit_limit(4, 10), 16);
        assert_eq!(retransmit_limit(4, 100), 28);
        assert_eq!(retransmit_limit(4, 1_000), 32);
        assert_eq!(retransmit_limit(4, 10_000), 36);
    }
}
