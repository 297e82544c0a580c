//! Heartbeat counters of the heartbeat-style detectors (`gossip`, `phi`):
//! this node's own counter, the highest counter seen per member with when it
//! last rose, and a rotating cursor so that large tables go out in slices
//! that fit a datagram.

use std::time::Duration;

use rumor_wire::NodeId;

use super::heartbeat_tags::{self, TagIndex};
use crate::Time;
use crate::detector::MemberChange;
use crate::member_list::{IndexedSet, Map};

/// One member's heartbeat as this node saw it, plus the detector's own data.
#[derive(Debug, Clone)]
pub(crate) struct Beat<T> {
    pub(crate) counter: u64,
    pub(crate) last_rise: Time,
    /// The detector reported a suspicion of this member that still stands.
    pub(crate) suspected: bool,
    /// Late, and asked directly for a heartbeat: not yet suspected.
    pub(crate) confirm: Option<Confirm>,
    pub(crate) extra: T,
}

/// A late member asked for a heartbeat of its own (see `heartbeat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Confirm {
    /// Asks sent so far.
    pub(crate) asks: u32,
    /// When to ask again, or to suspect if every ask went unanswered.
    pub(crate) next: Time,
}

/// Heartbeat counters by member.
#[derive(Debug)]
pub(crate) struct HeartbeatTable<T> {
    own: u64,
    beats: Map<NodeId, Beat<T>>,
    order: IndexedSet,
    tags: TagIndex,
    cursor: usize,
    /// Others' heartbeats that fitted in the last message built (0 = none
    /// built yet).
    slice: usize,
    /// Counters ignored as implausible leaps, not yet reported.
    implausible: u64,
}

/// The largest first counter believed of a member (a member beating ten
/// times a second reaches it after three thousand years).
const MAX_FIRST_COUNTER: u64 = 1 << 40;
/// Beats a counter may rise by beyond 200 a second of silence.
const COUNTER_SLACK: u64 = 1024;

/// Silent rounds after which a live member's heartbeat has not risen with
/// probability about e⁻⁷ (10⁻³), when each round brings `rate` receptions
/// of its entry on average. A member that late is asked directly for a
/// heartbeat before it is suspected, so the rare live one costs two
/// datagrams, not a suspicion.
const SILENT_ROUNDS_EXPONENT: f64 = 7.0;

impl<T: Default> HeartbeatTable<T> {
    pub(crate) fn new() -> HeartbeatTable<T> {
        HeartbeatTable {
            own: 0,
            beats: Map::default(),
            order: IndexedSet::default(),
            tags: TagIndex::default(),
            cursor: 0,
            slice: 0,
            implausible: 0,
        }
    }

    /// Starts tracking `member` as if it had just beaten.
    pub(crate) fn add(&mut self, member: NodeId, now: Time) {
        if self.beats.contains_key(&member) {
            return;
        }
        self.beats.insert(
            member,
            Beat {
                counter: 0,
                last_rise: now,
                suspected: false,
                confirm: None,
                extra: T::default(),
            },
        );
        self.order.insert(member);
        self.tags.insert(member);
    }

    pub(crate) fn remove(&mut self, member: &NodeId) {
        if self.beats.remove(member).is_some() {
            self.order.remove(member);
            self.tags.remove(member, self.beats.keys());
        }
    }

    /// The tracked member a heartbeat tag names, if exactly one.
    pub(crate) fn resolve(&self, tag: u32) -> Option<NodeId> {
        self.tags.resolve(tag)
    }

    /// This node's own counter.
    pub(crate) fn own(&self) -> u64 {
        self.own
    }

    /// Keeps the table in step with the core's member list: a member that
    /// joins gets an entry, one that goes down loses it, and a refuted
    /// suspicion starts its silence afresh from `now`.
    pub(crate) fn member_changed(&mut self, member: NodeId, change: MemberChange, now: Time) {
        match change {
            MemberChange::Joined => self.add(member, now),
            MemberChange::Down => self.remove(&member),
            MemberChange::Refuted => {
                if let Some(beat) = self.beats.get_mut(&member) {
                    beat.suspected = false;
                    beat.last_rise = now;
                }
            }
            MemberChange::Suspected => {}
        }
    }

    /// Counters ignored as implausible leaps since the last call.
    pub(crate) fn take_implausible(&mut self) -> u64 {
        std::mem::take(&mut self.implausible)
    }

    pub(crate) fn get_mut(&mut self, member: &NodeId) -> Option<&mut Beat<T>> {
        self.beats.get_mut(member)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&NodeId, &mut Beat<T>)> {
        self.beats.iter_mut()
    }

    /// The shortest silence that may be read as failure at this cluster
    /// size: an observer receives about `fanout` messages a round, each
    /// carrying a given member's entry with probability slice / (n − 1), so
    /// a live member's counter goes unseen for k rounds with probability
    /// about e^(−k · fanout · slice / (n − 1)). With every entry in every
    /// message (small clusters) that is a few rounds; with large tables
    /// sent in slices it grows linearly with n.
    pub(crate) fn silence_floor(&self, heartbeat: Duration, fanout: usize) -> Duration {
        let others = self.order.len();
        if others == 0 {
            return Duration::ZERO;
        }
        // Before the first message, assume a typical slice.
        let slice = if self.slice == 0 { 16 } else { self.slice };
        let rate = fanout.max(1) as f64 * slice.min(others) as f64 / others as f64;
        heartbeat.mul_f64(SILENT_ROUNDS_EXPONENT / rate)
    }

    /// Moves every member's last rise `gap` later (at most to `now`): this
    /// node did not run for `gap`, and a silence it could not hear is not
    /// one to count.
    pub(crate) fn forgive(&mut self, gap: Duration, now: Time) {
        for beat in self.beats.values_mut() {
            beat.last_rise = (beat.last_rise + gap).min(now);
        }
    }

    /// Raises this node's own counter.
    pub(crate) fn beat(&mut self) {
        self.own += 1;
    }

    /// Records `counter` for `member`; returns the previous rise time if the
    /// counter rose (and records `now` as the new one).
    ///
    /// A counter that leaps further than any member could have beaten since
    /// its last rise (200 beats a second, plus slack) is suspect input, not
    /// news: believed, one forged counter near 2^64 would hide every later
    /// real one, and the member would be declared failed. Such a counter
    /// is ignored and counted in `implausible`.
    pub(crate) fn observe(&mut self, member: &NodeId, counter: u64, now: Time) -> Option<Time> {
        let beat = self.beats.get_mut(member)?;
        if counter <= beat.counter {
            return None;
        }
        let elapsed_ms = now.saturating_sub(beat.last_rise).as_millis();
        let most = if beat.counter == 0 {
            MAX_FIRST_COUNTER
        } else {
            beat.counter
                .saturating_add(u64::try_from(elapsed_ms / 5).unwrap_or(u64::MAX))
                .saturating_add(COUNTER_SLACK)
        };
        if counter > most {
            self.implausible += 1;
            return None;
        }
        beat.counter = counter;
        let previous = beat.last_rise;
        beat.last_rise = now;
        Some(previous)
    }

    /// Tracked members' counters in rotating order while they fit in
    /// `budget` bytes: packed by tag into `packed`, or by full identity
    /// into `named` for a member whose tag another tracked member shares
    /// (`named_len` tells what such an entry costs).
    pub(crate) fn fill(
        &mut self,
        budget: usize,
        packed: &mut Vec<u8>,
        named: &mut Vec<(NodeId, u64)>,
        named_len: impl Fn(&(NodeId, u64)) -> usize,
    ) {
        let mut used = 0;
        let mut sent = 0;
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
            let by_tag = self.tags.is_unique(&id);
            let size = if by_tag {
                heartbeat_tags::entry_len(beat.counter)
            } else {
                named_len(&(id, beat.counter))
            };
            if used + size > budget {
                break;
            }
            used += size;
            if by_tag {
                heartbeat_tags::push(packed, heartbeat_tags::tag(&id), beat.counter);
            } else {
                named.push((id, beat.counter));
            }
            sent += 1;
            self.cursor += 1;
        }
        self.slice = sent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Version;
    use rumor_wire::encoded_len;
    use std::net::SocketAddr;

    fn id(port: u16) -> NodeId {
        NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(1))
    }

    #[test]
    fn silence_floor_grows_when_tables_go_out_in_slices() {
        let mut small: HeartbeatTable<()> = HeartbeatTable::new();
        for p in 2..11 {
            small.add(id(p), Time::ZERO);
        }
        small.fill(10_000, &mut Vec::new(), &mut Vec::new(), encoded_len);
        let h = Duration::from_millis(100);
        // 9 others, all in every message, 3 messages a round: ~2.3 rounds.
        let floor = small.silence_floor(h, 3);
        assert!(
            floor > Duration::from_millis(200) && floor < Duration::from_millis(250),
            "{floor:?}"
        );
        let mut large: HeartbeatTable<()> = HeartbeatTable::new();
        for p in 2..302 {
            large.add(id(p), Time::ZERO);
        }
        let entry = heartbeat_tags::entry_len(0);
        large.fill(entry * 31, &mut Vec::new(), &mut Vec::new(), |e| {
            encoded_len(e)
        });
        // 31 of 300 entries a message: ~23 rounds.
        let floor = large.silence_floor(h, 3);
        assert!(floor > Duration::from_secs(2), "{floor:?}");
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
        // A leap far beyond what 200 beats a second could bring is ignored.
        assert_eq!(table.observe(&id(2), u64::MAX, Time::from_millis(30)), None);
        assert_eq!(table.implausible, 1);
        assert!(table.observe(&id(2), 4, Time::from_millis(40)).is_some());
        assert_eq!(table.observe(&id(2), 2, Time::from_millis(20)), None);
        assert_eq!(
            table.observe(&id(9), 7, Time::from_millis(20)),
            None,
            "untracked"
        );
    }

    #[test]
    fn fill_rotates_within_budget_and_names_shared_tags_in_full() {
        let mut table: HeartbeatTable<()> = HeartbeatTable::new();
        for p in 2..40 {
            table.add(id(p), Time::ZERO);
        }
        let entry = heartbeat_tags::entry_len(0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..8 {
            let (mut packed, mut named) = (Vec::new(), Vec::new());
            table.fill(entry * 6, &mut packed, &mut named, encoded_len);
            assert_eq!(packed.len(), entry * 6);
            assert!(named.is_empty());
            for e in heartbeat_tags::entries(&packed) {
                let (tag, counter) = e.unwrap();
                assert_eq!(counter, 0);
                seen.insert(table.resolve(tag).unwrap().addr.port());
            }
        }
        assert_eq!(seen.len(), 38, "every member went out in some slice");

        // Two members whose tags collide go out by full identity.
        let mut tags = Map::default();
        let (a, b) = (1u64..)
            .find_map(|v| {
                let m = NodeId::new(SocketAddr::from(([127, 0, 0, 9], 1)), Version(v));
                tags.insert(heartbeat_tags::tag(&m), m).map(|e| (e, m))
            })
            .unwrap();
        let mut small: HeartbeatTable<()> = HeartbeatTable::new();
        for m in [a, b, id(2)] {
            small.add(m, Time::ZERO);
        }
        let (mut packed, mut named) = (Vec::new(), Vec::new());
        small.fill(1000, &mut packed, &mut named, encoded_len);
        named.sort();
        assert_eq!(named, vec![(a.min(b), 0), (a.max(b), 0)]);
        assert_eq!(heartbeat_tags::entries(&packed).count(), 1);
        assert_eq!(small.resolve(heartbeat_tags::tag(&a)), None);
    }
}
