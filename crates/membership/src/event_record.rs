//! An [`Event`] as a line of the event log: the one record type
//! ([`EventRecord`], defined beside the wire format so that `rumor monitor`
//! can stream it) that the agent, the simulator and the visualizer write
//! and read. The schema is documented in `docs/events.md`.

pub use rumor_wire::EventRecord;

use crate::{Event, EventKind};

impl Event {
    /// The event as a record of `events.jsonl`; `epoch_unix_ms` is the
    /// Unix time, in milliseconds, of the driver's time zero.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use rumor_membership::{Event, EventKind, Incarnation};
    ///
    /// let id = "127.0.0.1:4000#1".parse().unwrap();
    /// let event = Event {
    ///     at: Duration::from_millis(5),
    ///     observer: id,
    ///     kind: EventKind::Joined,
    ///     member: id,
    ///     incarnation: Incarnation(0),
    ///     detector: Arc::from("swim"),
    /// };
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
