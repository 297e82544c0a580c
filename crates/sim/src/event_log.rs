//! Writes a run's events in the agent's `events.jsonl` format, with the
//! record type the agent and the visualizer share
//! ([`rumor_membership::EventRecord`]), so a simulated cluster replays in
//! `rumor-viz` like a real one.

use rumor_membership::Event;

use crate::simulation::VERSION_EPOCH_MS;

/// One JSON object per line; `ts_ms` is the virtual time on the same epoch
/// the simulated versions use.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut out = Vec::with_capacity(events.len() * 160);
    for e in events {
        e.record(VERSION_EPOCH_MS).write_json(&mut out);
        out.push(b'\n');
    }
    String::from_utf8(out).expect("records are written as UTF-8 JSON")
}
