//! One line of an agent's `events.jsonl`, parsed.

use std::sync::Arc;

use rumor_membership::EventRecord;
use rumor_wire::{Incarnation, NodeId};

/// What an observer recorded about a member (the `event` field): the
/// membership core's own event kinds, named as in the log.
pub use rumor_membership::EventKind;

/// One event as an agent logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// Unix time in milliseconds.
    pub ts_ms: u64,
    /// The agent that recorded it.
    pub observer: NodeId,
    /// What it recorded.
    pub kind: EventKind,
    /// The member it is about.
    pub member: NodeId,
    /// The member's incarnation as the observer saw it.
    pub incarnation: Incarnation,
    /// The failure detector the observer runs.
    pub detector: Arc<str>,
}

impl LogEvent {
    /// Parses one line of `events.jsonl`; the error says why in words.
    ///
    /// Unknown extra fields are ignored so that newer agents stay readable.
    ///
    /// ```
    /// use rumor_viz::{EventKind, LogEvent};
    /// let line = r#"{"ts_ms":5,"observer":"127.0.0.1:4000#1","event":"failed","member":"127.0.0.2:4000#1","incarnation":0,"detector":"gossip"}"#;
    /// let event = LogEvent::parse(line).unwrap();
    /// assert_eq!(event.kind, EventKind::Failed);
    /// assert!(LogEvent::parse("{not json").is_err());
    /// ```
    pub fn parse(line: &str) -> Result<LogEvent, String> {
        LogEvent::from_record(EventRecord::parse_line(line)?)
    }

    /// The event a record of the log holds; the error names an unknown kind.
    pub fn from_record(record: EventRecord) -> Result<LogEvent, String> {
        let kind = EventKind::from_name(&record.event)
            .ok_or_else(|| format!("unknown event {:?}", record.event))?;
        Ok(LogEvent {
            ts_ms: record.ts_ms,
            observer: record.observer,
            kind,
            member: record.member,
            incarnation: Incarnation(record.incarnation),
            detector: Arc::from(record.detector),
        })
    }

    /// The event as a record of the log.
    pub fn to_record(&self) -> EventRecord {
        EventRecord {
            ts_ms: self.ts_ms,
            observer: self.observer,
            event: self.kind.as_str().to_string(),
            member: self.member,
            incarnation: self.incarnation.0,
            detector: self.detector.to_string(),
        }
    }

    /// The line as an agent writes it (used by tests and the synthetic generator).
    pub fn to_json_line(&self) -> String {
        self.to_record().to_json_line()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_log_format() {
        let event = LogEvent {
            ts_ms: 1_763_900_000_123,
            observer: "127.0.0.2:4000#1763899990001".parse().unwrap(),
            kind: EventKind::Failed,
            member: "127.0.0.3:4000#1763899990507".parse().unwrap(),
            incarnation: Incarnation(3),
            detector: Arc::from("gossip"),
        };
        assert_eq!(LogEvent::parse(&event.to_json_line()).unwrap(), event);
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        let ok = r#"{"ts_ms":1,"observer":"127.0.0.1:1#1","event":"joined","member":"127.0.0.1:1#1","incarnation":0,"detector":"swim"}"#;
        assert!(LogEvent::parse(ok).is_ok());
        let unknown = ok.replace("joined", "exploded");
        assert!(LogEvent::parse(&unknown).unwrap_err().contains("exploded"));
        let bad_id = ok.replace("127.0.0.1:1#1\",\"event", "nonsense\",\"event");
        assert!(LogEvent::parse(&bad_id).is_err());
        assert!(LogEvent::parse("").is_err());
        assert!(LogEvent::parse(r#"{"ts_ms":-1}"#).is_err());
    }
}
