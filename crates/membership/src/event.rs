//! Membership events: what one node saw happen to one member, and the same
//! as a line of the event log: the one record type ([`EventRecord`],
//! defined beside the wire format so that `rumor monitor` can stream it)
//! that the agent, the simulator and the visualizer write and read. The
//! schema is documented in `docs/events.md`.

use std::sync::Arc;

pub use rumor_wire::EventRecord;
use rumor_wire::{Incarnation, NodeId};

use crate::Time;

/// The kind of an [`Event`], named as in the event log. Ordered along a
/// member's life: joined, suspected, alive, failed, left, removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// A member became known (also the observer itself at start).
    Joined,
    /// A member is suspected of having failed.
    Suspected,
    /// A suspicion was refuted: the member is alive.
    Alive,
    /// The member was declared failed (the detection).
    Failed,
    /// The member left voluntarily.
    Left,
    /// The member was deleted from the list (after `t_delete`, or superseded
    /// by a newer version of its address).
    Removed,
}

impl EventKind {
    /// The event log's name of the kind: `joined`, `suspected`, `alive`,
    /// `failed`, `left` or `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Joined => "joined",
            EventKind::Suspected => "suspected",
            EventKind::Alive => "alive",
            EventKind::Failed => "failed",
            EventKind::Left => "left",
            EventKind::Removed => "removed",
        }
    }

    /// The kind the event log names `name`, if it is one.
    pub fn from_name(name: &str) -> Option<EventKind> {
        Some(match name {
            "joined" => EventKind::Joined,
            "suspected" => EventKind::Suspected,
            "alive" => EventKind::Alive,
            "failed" => EventKind::Failed,
            "left" => EventKind::Left,
            "removed" => EventKind::Removed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One membership event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// When it happened, on the driver's clock.
    pub at: Time,
    /// The node that saw it.
    pub observer: NodeId,
    /// What happened.
    pub kind: EventKind,
    /// The member it happened to.
    pub member: NodeId,
    /// The member's incarnation at that moment.
    pub incarnation: Incarnation,
    /// The failure detector the observer runs.
    pub detector: Arc<str>,
}

impl Event {
    /// An event: `observer` saw `kind` happen to `member` at `at`, with
    /// the member's `incarnation`, running `detector`. (A driver that
    /// runs another protocol, such as the simulator's foca nodes, makes
    /// its events with it; a core makes its own.)
    pub fn new(
        at: Time,
        observer: NodeId,
        kind: EventKind,
        member: NodeId,
        incarnation: Incarnation,
        detector: Arc<str>,
    ) -> Event {
        Event {
            at,
            observer,
            kind,
            member,
            incarnation,
            detector,
        }
    }

    /// The event as a record of `events.jsonl`; `epoch_unix_ms` is the
    /// Unix time, in milliseconds, of the driver's time zero.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use rumor_membership::{Event, EventKind, Incarnation};
    ///
    /// let id = "127.0.0.1:4000#1".parse().unwrap();
    /// let at = Duration::from_millis(5);
    /// let event = Event::new(at, id, EventKind::Joined, id, Incarnation(0), Arc::from("swim"));
    /// let record = event.record(1000);
    /// assert_eq!((record.ts_ms, record.event.as_str()), (1005, "joined"));
    /// ```
    pub fn record(&self, epoch_unix_ms: u64) -> EventRecord {
        EventRecord {
            ts_ms: epoch_unix_ms + self.at.as_millis() as u64,
            observer: self.observer,
            event: self.kind.as_str().to_string(),
            member: self.member,
            incarnation: self.incarnation.0,
            detector: self.detector.to_string(),
        }
    }
}

/// The kind a record names, if it is one this build knows.
pub fn record_kind(record: &EventRecord) -> Option<EventKind> {
    EventKind::from_name(&record.event)
}
