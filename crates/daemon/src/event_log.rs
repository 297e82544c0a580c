//! `DATA_DIR/events.jsonl`: the agent's membership events, one
//! [`EventRecord`] (the record type the simulator and the visualizer share;
//! schema in docs/events.md) per line, each written with one `write(2)` as
//! it happens. Also the reader other programs (demo, benchmarks, tests,
//! `rumor monitor --since`) use.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use rumor_membership::EventRecord;

/// Appends records to `events.jsonl`.
#[derive(Debug)]
pub struct EventLog {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
}

impl EventLog {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<EventLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventLog {
            file,
            path: path.to_owned(),
            line: Vec::with_capacity(256),
        })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the path again (after logrotate moved the file away: SIGHUP),
    /// creating it if needed; on failure the old file stays in use.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        Ok(())
    }

    /// Bytes in the file now: everything appended so far ends before it.
    pub fn len(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one record as one line, in one write: a reader never sees half a line
    /// followed by another writer's bytes, and nothing waits in a buffer.
    pub fn append(&mut self, record: &EventRecord) -> std::io::Result<()> {
        self.line.clear();
        record.write_json(&mut self.line);
        self.line.push(b'\n');
        self.file.write_all(&self.line)
    }
}

/// Follows a growing `events.jsonl`, returning complete new lines on each poll.
#[derive(Debug)]
pub struct EventTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    /// Lines that did not parse as records (none, from a healthy agent).
    pub unparsed: u64,
}

impl EventTail {
    /// A tail from the beginning of `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> EventTail {
        EventTail {
            path: path.into(),
            offset: 0,
            partial: Vec::new(),
            unparsed: 0,
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records appended since the last poll (a missing file has none).
    pub fn poll(&mut self) -> Vec<EventRecord> {
        self.poll_upto(u64::MAX)
    }

    /// [`EventTail::poll`], reading no further than byte `end` of the file.
    pub fn poll_upto(&mut self, end: u64) -> Vec<EventRecord> {
        let mut out = Vec::new();
        let Ok(mut file) = File::open(&self.path) else {
            return out;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return out;
        }
        let mut fresh = Vec::new();
        let limit = end.saturating_sub(self.offset);
        if file.take(limit).read_to_end(&mut fresh).is_err() {
            return out;
        }
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let complete = match self.partial.iter().rposition(|b| *b == b'\n') {
            Some(last) => last + 1,
            None => return out,
        };
        for line in self.partial[..complete].split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            match EventRecord::parse_bytes(line) {
                Ok(record) => out.push(record),
                Err(_) => self.unparsed += 1,
            }
        }
        self.partial.drain(..complete);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_exact_design_schema() {
        let record = EventRecord {
            ts_ms: 1763900000123,
            observer: "127.0.0.2:4000#1763899990001".parse().unwrap(),
            event: "failed".into(),
            member: "127.0.0.3:4000#1763899990507".parse().unwrap(),
            incarnation: 0,
            detector: "gossip".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&path).unwrap();
        log.append(&record).unwrap();
        log.append(&record).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let line = r#"{"ts_ms":1763900000123,"observer":"127.0.0.2:4000#1763899990001","event":"failed","member":"127.0.0.3:4000#1763899990507","incarnation":0,"detector":"gossip"}"#;
        assert_eq!(text, format!("{line}\n{line}\n"));
        let mut tail = EventTail::new(&path);
        assert_eq!(tail.poll(), vec![record.clone(), record]);
        assert!(tail.poll().is_empty());
    }

    #[test]
    fn tail_waits_for_complete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut tail = EventTail::new(&path);
        assert!(tail.poll().is_empty());
        let line = r#"{"ts_ms":1,"observer":"127.0.0.2:4000#1","event":"joined","member":"127.0.0.2:4000#1","incarnation":0,"detector":"gossip"}"#;
        std::fs::write(&path, &line[..20]).unwrap();
        assert!(tail.poll().is_empty());
        std::fs::write(&path, format!("{line}\nnot json\n")).unwrap();
        let records = tail.poll();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].event, "joined");
        assert_eq!(tail.unparsed, 1);
    }
}
