//! Writes a run's events in the daemon's `events.jsonl` format, so a
//! simulated cluster replays in `rumor-viz` like a real one.

use serde::Serialize;

use rumor_membership::Event;

use crate::simulation::VERSION_EPOCH_MS;

#[derive(Serialize)]
struct Line<'a> {
    ts_ms: u64,
    observer: String,
    event: &'a str,
    member: String,
    incarnation: u64,
    detector: &'a str,
}

/// One JSON object per line; `ts_ms` is the virtual time on the same epoch
/// the simulated versions use.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let line = Line {
            ts_ms: VERSION_EPOCH_MS + e.at.as_millis() as u64,
            observer: e.observer.to_string(),
            event: e.kind.as_str(),
            member: e.member.to_string(),
            incarnation: e.incarnation.0,
            detector: &e.detector,
        };
        out.push_str(
            &serde_json::to_string(&line).expect("an event line holds only strings and numbers"),
        );
        out.push('\n');
    }
    out
}
