//! One line of an agent's event log, `DATA_DIR/events.jsonl`: the record
//! type every writer and reader of that file shares (the agent, the
//! simulator, the visualizer), and `rumor monitor` streams. The schema is
//! documented once, in `docs/events.md`.

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// One membership event as written to `events.jsonl`: a JSON object per
/// line with exactly these fields, in this order.
///
/// Readers ignore fields they do not know, so a later version may add
/// fields; `detector` may be absent in logs older than it (read as "").
///
/// ```
/// use rumor_wire::EventRecord;
///
/// let line = r#"{"ts_ms":1763900000123,"observer":"127.0.0.2:4000#1763899990001","event":"failed","member":"127.0.0.3:4000#1763899990507","incarnation":0,"detector":"gossip"}"#;
/// let record = EventRecord::parse_line(line).unwrap();
/// assert_eq!(record.event, "failed");
/// assert_eq!(record.to_json_line(), line);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventRecord {
    /// Unix time in milliseconds.
    pub ts_ms: u64,
    /// The node that saw it, as `IP:PORT#VERSION`.
    #[serde(with = "node_id_text")]
    pub observer: NodeId,
    /// What happened: `joined`, `suspected`, `alive`, `failed`, `left` or
    /// `removed`.
    pub event: String,
    /// The member it happened to, as `IP:PORT#VERSION`.
    #[serde(with = "node_id_text")]
    pub member: NodeId,
    /// The member's incarnation as the observer saw it then.
    pub incarnation: u64,
    /// The observer's failure detector.
    #[serde(default)]
    pub detector: String,
}

impl EventRecord {
    /// The record as one line of `events.jsonl`, without the newline.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(192);
        self.write_json(&mut line);
        String::from_utf8(line).expect("serde_json writes UTF-8")
    }

    /// Appends the record's JSON object (no newline) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("a record holds only strings and numbers");
    }

    /// Parses one line of `events.jsonl`; the error says why in words.
    pub fn parse_line(line: &str) -> Result<EventRecord, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    /// [`EventRecord::parse_line`] for a line as bytes.
    pub fn parse_bytes(line: &[u8]) -> Result<EventRecord, String> {
        serde_json::from_slice(line).map_err(|e| e.to_string())
    }
}

/// `IP:PORT#VERSION` text form of node ids in the log (and in the record's
/// every other encoding).
mod node_id_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::NodeId;

    pub fn serialize<S: Serializer>(id: &NodeId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NodeId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> EventRecord {
        EventRecord {
            ts_ms: 1763900000123,
            observer: "127.0.0.2:4000#1763899990001".parse().unwrap(),
            event: "failed".into(),
            member: "[::1]:4000#1763899990507".parse().unwrap(),
            incarnation: 3,
            detector: "swim".into(),
        }
    }

    #[test]
    fn round_trips_through_json_and_messagepack() {
        let r = record();
        assert_eq!(EventRecord::parse_line(&r.to_json_line()).unwrap(), r);
        let packed = rmp_serde::to_vec(&r).unwrap();
        assert_eq!(rmp_serde::from_slice::<EventRecord>(&packed).unwrap(), r);
    }

    #[test]
    fn tolerates_extra_and_missing_optional_fields_and_names_errors() {
        let old = r#"{"ts_ms":1,"observer":"127.0.0.1:1#1","event":"joined","member":"127.0.0.1:1#1","incarnation":0}"#;
        assert_eq!(EventRecord::parse_line(old).unwrap().detector, "");
        let newer = r#"{"ts_ms":1,"observer":"127.0.0.1:1#1","event":"joined","member":"127.0.0.1:1#1","incarnation":0,"detector":"swim","extra":[1]}"#;
        assert_eq!(EventRecord::parse_line(newer).unwrap().detector, "swim");
        let bad = old.replace("127.0.0.1:1#1\",\"event", "nonsense\",\"event");
        assert!(EventRecord::parse_line(&bad).is_err());
        assert!(EventRecord::parse_line("").is_err());
        assert!(EventRecord::parse_bytes(b"{\"ts_ms\":-1}").is_err());
    }
}
