//! One line of an agent's `events.jsonl`, parsed.

use std::sync::Arc;

use rumor_wire::{Incarnation, NodeId};
use serde::Deserialize;

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

#[derive(Deserialize)]
struct RawEvent<'a> {
    ts_ms: u64,
    #[serde(borrow)]
    observer: &'a str,
    #[serde(borrow)]
    event: &'a str,
    #[serde(borrow)]
    member: &'a str,
    incarnation: u64,
    #[serde(default, borrow)]
    detector: Option<&'a str>,
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
        let raw: RawEvent<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let kind = EventKind::from_name(raw.event)
            .ok_or_else(|| format!("unknown event {:?}", raw.event))?;
        let observer: NodeId = raw.observer.parse().map_err(|e| format!("observer: {e}"))?;
        let member: NodeId = raw.member.parse().map_err(|e| format!("member: {e}"))?;
        Ok(LogEvent {
            ts_ms: raw.ts_ms,
            observer,
            kind,
            member,
            incarnation: Incarnation(raw.incarnation),
            detector: Arc::from(raw.detector.unwrap_or("")),
        })
    }

    /// The line as an agent writes it (used by tests and the synthetic generator).
    pub fn to_json_line(&self) -> String {
        format!(
            r#"{{"ts_ms":{},"observer":"{}","event":"{}","member":"{}","incarnation":{},"detector":"{}"}}"#,
            self.ts_ms,
            self.observer,
            self.kind.as_str(),
            self.member,
            self.incarnation,
            self.detector
        )
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
        assert!(LogEvent::parse(&bad_id).unwrap_err().contains("observer"));
        assert!(LogEvent::parse("").is_err());
        assert!(LogEvent::parse(r#"{"ts_ms":-1}"#).is_err());
    }
}
