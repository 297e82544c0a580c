//! Reading `events.jsonl` files and directories into one time-ordered list.
//!
//! A malformed line never stops the replay: it is recorded with its source
//! and line number, and the caller reports it.

use std::path::{Path, PathBuf};

use crate::{LogEvent, VizError};

/// The file name agents write their events to.
pub const EVENTS_FILE: &str = "events.jsonl";

/// A line that could not be read as an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The file (or `agent:file` for fetched logs) it came from.
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// Why it was refused.
    pub why: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: skipped malformed event: {}",
            self.source, self.line, self.why
        )
    }
}

/// Events from any number of logs, merged by time, and the lines skipped.
#[derive(Clone, Debug, Default)]
pub struct LoadedEvents {
    /// Every event read, ordered by `ts_ms` (ties keep input order).
    pub events: Vec<LogEvent>,
    /// Lines that were skipped.
    pub malformed: Vec<Malformed>,
    /// How many logs were read.
    pub sources: usize,
}

impl LoadedEvents {
    /// Parses the lines of one log and adds them. `first_line` is the number
    /// of the first line (1 for a whole file).
    pub fn add_log<'a>(&mut self, source: &str, lines: impl IntoIterator<Item = (u64, &'a [u8])>) {
        self.sources += 1;
        for (number, bytes) in lines {
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = std::str::from_utf8(bytes)
                .map_err(|_| "not UTF-8".to_string())
                .and_then(LogEvent::parse);
            match parsed {
                Ok(event) => self.events.push(event),
                Err(why) => self.malformed.push(Malformed {
                    source: source.to_string(),
                    line: number,
                    why,
                }),
            }
        }
    }

    /// Orders the events by time; events of equal time keep the order they
    /// were added in.
    pub fn merge_by_time(&mut self) {
        self.events.sort_by_key(|e| e.ts_ms);
    }
}

/// Every `events.jsonl` under `path` (recursively, sorted), or `path` itself
/// if it is a file.
pub fn find_event_files(path: &Path) -> Result<Vec<PathBuf>, VizError> {
    let read = |source| VizError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| VizError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| VizError::Read {
                path: dir.clone(),
                source,
            })?;
            let kind = entry.file_type().map_err(|source| VizError::Read {
                path: entry.path(),
                source,
            })?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if entry.file_name() == EVENTS_FILE {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Reads every log named by `paths` (files, or directories searched for
/// `events.jsonl`) and merges the events by time.
pub fn load_paths(paths: &[PathBuf]) -> Result<LoadedEvents, VizError> {
    let mut loaded = LoadedEvents::default();
    for path in paths {
        for file in find_event_files(path)? {
            let bytes = std::fs::read(&file).map_err(|source| VizError::Read {
                path: file.clone(),
                source,
            })?;
            let lines = bytes
                .split(|&b| b == b'\n')
                .zip(1u64..)
                .map(|(l, n)| (n, l));
            loaded.add_log(&file.display().to_string(), lines);
        }
    }
    loaded.merge_by_time();
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts: u64, observer: &str, kind: &str, member: &str) -> String {
        format!(
            r#"{{"ts_ms":{ts},"observer":"{observer}","event":"{kind}","member":"{member}","incarnation":0,"detector":"gossip"}}"#
        )
    }

    #[test]
    fn merges_directories_by_time_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("nested/b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(
            a.join(EVENTS_FILE),
            [
                line(10, "127.0.0.1:1#1", "joined", "127.0.0.1:1#1"),
                line(30, "127.0.0.1:1#1", "failed", "127.0.0.1:2#1"),
            ]
            .join("\n")
                + "\n",
        )
        .unwrap();
        std::fs::write(
            b.join(EVENTS_FILE),
            [
                line(20, "127.0.0.1:2#1", "joined", "127.0.0.1:2#1"),
                "{garbage".to_string(),
                String::new(),
                line(25, "127.0.0.1:2#1", "joined", "127.0.0.1:1#1"),
            ]
            .join("\n"),
        )
        .unwrap();
        std::fs::write(b.join("agent.log"), "not an event log\n").unwrap();

        let loaded = load_paths(&[dir.path().to_path_buf()]).unwrap();
        let times: Vec<u64> = loaded.events.iter().map(|e| e.ts_ms).collect();
        assert_eq!(times, [10, 20, 25, 30]);
        assert_eq!(loaded.sources, 2);
        assert_eq!(loaded.malformed.len(), 1);
        assert_eq!(loaded.malformed[0].line, 2);
        assert!(
            loaded.malformed[0]
                .source
                .ends_with("nested/b/events.jsonl")
        );
        assert!(loaded.malformed[0].to_string().contains(":2: skipped"));
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let err = load_paths(&[PathBuf::from("/nonexistent/rumor-viz")]).unwrap_err();
        assert!(matches!(err, VizError::Read { .. }));
    }
}
