//! `events.jsonl`: arbitrary bytes as the file an agent appends to,
//! followed with `EventTail` across two polls (the file grows between
//! them, possibly mid-line), and each line deserialised as an
//! `EventRecord` directly. The tail must return exactly the complete lines
//! that parse, in order, and count the rest; a record that parses writes
//! back (node ids as `IP:PORT#VERSION` text) to the same record.
//!
//! Input: one byte saying where the file is cut between the two polls,
//! then the file's bytes.

#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rumor_daemon::event_log::{EventRecord, EventTail};

/// One file for the whole run, rewritten by each input: a directory per
/// input would cost more than the parsing.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("events.jsonl");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, text)) = data.split_first() else {
        return;
    };
    let mut expected = Vec::new();
    let mut unparsed = 0;
    let complete = text
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    for line in text[..complete].split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<EventRecord>(line) {
            Ok(record) => {
                let written = serde_json::to_string(&record).expect("a record serialises");
                let back: EventRecord = serde_json::from_str(&written)
                    .unwrap_or_else(|e| panic!("{written} does not read back: {e}"));
                assert_eq!(back, record);
                expected.push(record);
            }
            Err(_) => unparsed += 1,
        }
    }

    let path = scratch();
    let cut = usize::from(cut) * text.len() / 255;
    std::fs::write(path, &text[..cut]).expect("write the scratch log");
    let mut tail = EventTail::new(path);
    let mut records = tail.poll();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open the scratch log");
    file.write_all(&text[cut..])
        .expect("append to the scratch log");
    records.extend(tail.poll());
    assert_eq!(records, expected);
    assert_eq!(tail.unparsed, unparsed);
});
