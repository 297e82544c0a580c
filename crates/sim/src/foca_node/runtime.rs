//! foca's [`foca::Runtime`] on the virtual clock: timers wait in a heap the
//! simulator drains at [`super::FocaNode::poll_timeout`], datagrams in an
//! outbox, and notifications become the simulator's membership events.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use foca::{Notification, Timer};
use rumor_membership::{Event, EventKind, Incarnation, Time};

use super::identity::FocaId;

/// Something due at a time: one of foca's timers, or the driver's own
/// announce retry while the node has not joined yet.
#[derive(Debug)]
pub(super) enum Due {
    Foca(Timer<FocaId>),
    Announce,
}

#[derive(Debug)]
pub(super) struct Pending {
    pub at: Time,
    seq: u64,
    pub due: Due,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    // Reversed: the heap is a max-heap and the earliest must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Everything foca asks of its runtime during one call, kept for the
/// simulator to drain.
pub(super) struct Rt {
    /// The node's current identity (it changes when foca renews it).
    pub me: FocaId,
    /// The virtual time of the call in progress.
    pub now: Time,
    detector: Arc<str>,
    timers: BinaryHeap<Pending>,
    seq: u64,
    pub outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    pub events: VecDeque<Event>,
    /// foca said `Active`: some member knows this identity.
    pub active: bool,
    /// Identities foca renewed after being declared down.
    pub rejoins: u64,
    /// Probes of this node that failed (each makes the target suspect).
    pub suspicions: u64,
    /// foca said `Defunct` (never with renewable identities).
    pub defunct: u64,
    /// Set while the node is handed its starting view: no events then.
    pub quiet: bool,
}

impl Rt {
    pub fn new(me: FocaId, now: Time, detector: Arc<str>) -> Rt {
        Rt {
            me,
            now,
            detector,
            timers: BinaryHeap::new(),
            seq: 0,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            active: false,
            rejoins: 0,
            suspicions: 0,
            defunct: 0,
            quiet: false,
        }
    }

    /// Puts `due` on the heap for `at`.
    pub fn schedule(&mut self, at: Time, due: Due) {
        self.seq += 1;
        self.timers.push(Pending {
            at,
            seq: self.seq,
            due,
        });
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Time> {
        self.timers.peek().map(|p| p.at)
    }

    /// Everything due at or before `now`, in deadline order, except that
    /// foca's own timers that are all late together are put in foca's
    /// order (its `Timer: Ord` exists to correct a lagging runtime).
    pub fn take_due(&mut self, now: Time) -> Vec<Pending> {
        let mut due = Vec::new();
        while self.timers.peek().is_some_and(|p| p.at <= now) {
            due.push(self.timers.pop().expect("peeked"));
        }
        if due.len() > 1 && due.iter().any(|p| p.at < now) {
            due.sort_by(|a, b| match (&a.due, &b.due) {
                (Due::Foca(x), Due::Foca(y)) => x.cmp(y),
                _ => Ordering::Equal,
            });
        }
        due
    }

    fn event(&mut self, kind: EventKind, member: &FocaId) {
        if self.quiet {
            return;
        }
        self.events.push_back(Event::new(
            self.now,
            self.me.node(),
            kind,
            member.node(),
            Incarnation(0),
            Arc::clone(&self.detector),
        ));
    }

    /// The event the node emits for itself when it starts (or renews).
    pub fn joined_self(&mut self) {
        let me = self.me;
        self.event(EventKind::Joined, &me);
    }
}

impl foca::Runtime<FocaId> for Rt {
    fn notify(&mut self, notification: Notification<'_, FocaId>) {
        match notification {
            Notification::MemberUp(m) => self.event(EventKind::Joined, m),
            Notification::MemberDown(m) => self.event(EventKind::Failed, m),
            // A newer version of an address replaced an older one: rumor's
            // cores remove the superseded version.
            Notification::Rename(old, _new) => self.event(EventKind::Removed, old),
            Notification::Active => self.active = true,
            Notification::Idle => {}
            Notification::Defunct => self.defunct += 1,
            Notification::Rejoin(new) => {
                self.me = *new;
                self.rejoins += 1;
                self.joined_self();
            }
            Notification::ProbeFailed(_, m) => {
                self.suspicions += 1;
                self.event(EventKind::Suspected, m);
            }
            Notification::DataReceived(_) | Notification::DataSent(_) => {}
        }
    }

    fn send_to(&mut self, to: FocaId, data: &[u8]) {
        self.outbox
            .push_back((SocketAddr::V4(to.addr()), data.to_vec()));
    }

    fn submit_after(&mut self, event: Timer<FocaId>, after: Duration) {
        let at = self.now + after;
        self.schedule(at, Due::Foca(event));
    }
}
