//! The core's own timers: suspicions that run out, direct notices to
//! suspects, removals of failed and left members. One heap ordered by time
//! (then by timer, so timers due together fire in the same order on every
//! run). A timer is never cancelled: the part that asked for it checks,
//! when it fires, that it is still due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rumor_wire::NodeId;

use crate::Time;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The suspicion of a member runs out: it is declared failed, or, when
    /// `hearsay` (this node only heard of it and has not asked the suspect
    /// yet), the suspect gets a last chance to refute first.
    SuspectExpire { member: NodeId, hearsay: bool },
    /// Tell a suspected member again that it is suspected; the count is
    /// how many notices are left, this one included.
    SuspectNotice(NodeId, u8),
    /// A failed or left member is deleted.
    Remove(NodeId),
}

impl Timer {
    /// The suspicion of `member` runs out (see [`Timer::SuspectExpire`]).
    pub(crate) fn expire(member: NodeId, hearsay: bool) -> Timer {
        Timer::SuspectExpire { member, hearsay }
    }
}

/// Pending timers.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Time, Timer)>>,
}

impl Timers {
    /// Fires `timer` at `at`.
    pub(crate) fn schedule(&mut self, at: Time, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// The earliest timer due at or before `now`, taken off the heap.
    pub(crate) fn pop_due(&mut self, now: Time) -> Option<(Time, Timer)> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now {
            return None;
        }
        self.heap.pop().map(|Reverse(due)| due)
    }

    /// When the next timer is due.
    pub(crate) fn next(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_time_order_and_only_when_due() {
        let member: NodeId = "127.0.0.1:1#1".parse().unwrap();
        let mut timers = Timers::default();
        timers.schedule(Time::from_millis(20), Timer::Remove(member));
        timers.schedule(Time::from_millis(10), Timer::SuspectNotice(member, 2));
        assert_eq!(timers.next(), Some(Time::from_millis(10)));
        assert_eq!(timers.pop_due(Time::from_millis(9)), None);
        assert_eq!(
            timers.pop_due(Time::from_millis(25)),
            Some((Time::from_millis(10), Timer::SuspectNotice(member, 2)))
        );
        assert_eq!(
            timers.pop_due(Time::from_millis(25)),
            Some((Time::from_millis(20), Timer::Remove(member)))
        );
        assert_eq!(timers.pop_due(Time::from_secs(1)), None);
        assert_eq!(timers.next(), None);
    }
}
