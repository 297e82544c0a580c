//! Small hand-written cluster histories shared by the tests.

#![allow(dead_code)]

use rumor_viz::{LoadedEvents, Replay};

/// Unix ms of replay time 0 in these logs.
pub const T0: u64 = 1_763_900_000_000;

/// One log line: (ms after T0, observer port, event, member port), nodes
/// are 127.0.0.1:PORT#1 unless the port is given as "PORT#VERSION".
pub type Line = (u64, &'static str, &'static str, &'static str);

fn id(port: &str) -> String {
    if port.contains('#') {
        format!("127.0.0.1:{port}")
    } else {
        format!("127.0.0.1:{port}#1")
    }
}

/// The JSON line an agent would write.
pub fn json((at, observer, event, member): Line) -> String {
    format!(
        r#"{{"ts_ms":{},"observer":"{}","event":"{event}","member":"{}","incarnation":0,"detector":"gossip"}}"#,
        T0 + at,
        id(observer),
        id(member)
    )
}

/// A replay of `lines` (which need not be in time order).
pub fn replay(lines: &[Line]) -> Replay {
    let text: Vec<String> = lines.iter().map(|l| json(*l)).collect();
    let mut loaded = LoadedEvents::default();
    loaded.add_log("test", text.iter().zip(1..).map(|(l, n)| (n, l.as_bytes())));
    loaded.merge_by_time();
    Replay::new(&loaded.events).expect("the test log has events")
}

/// Four nodes 4001..4004 start and learn of each other; 4003 crashes after
/// t=100 ms and the other three suspect it, then declare it failed:
/// 4001 at 3.0 s, 4002 at 4.0 s, 4004 at 4.8 s.
pub const CRASH: &[Line] = &[
    (0, "4001", "joined", "4001"),
    (0, "4002", "joined", "4002"),
    (0, "4003", "joined", "4003"),
    (0, "4004", "joined", "4004"),
    (100, "4001", "joined", "4002"),
    (100, "4001", "joined", "4003"),
    (100, "4001", "joined", "4004"),
    (100, "4002", "joined", "4001"),
    (100, "4002", "joined", "4003"),
    (100, "4002", "joined", "4004"),
    (100, "4003", "joined", "4001"),
    (100, "4003", "joined", "4002"),
    (100, "4003", "joined", "4004"),
    (100, "4004", "joined", "4001"),
    (100, "4004", "joined", "4002"),
    (100, "4004", "joined", "4003"),
    (2_000, "4001", "suspected", "4003"),
    (2_500, "4002", "suspected", "4003"),
    (3_000, "4001", "failed", "4003"),
    (3_500, "4004", "suspected", "4003"),
    (4_000, "4002", "failed", "4003"),
    (4_800, "4004", "failed", "4003"),
    (9_000, "4001", "removed", "4003"),
];
