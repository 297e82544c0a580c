//! `--sort time`: every member's lines merged into one timeline.
//!
//! A line is stamped if its text holds `"ts_ms":N`, as every line of an
//! agent's `events.jsonl` does (milliseconds since the Unix epoch). Stamped
//! lines come first, oldest first; a tie keeps member order (members sorted
//! by id, as in the summary), then the order the member sent them in.
//! Unstamped lines (`agent.log`, other logs) follow, member by member, each
//! member's in the order it sent them.
//!
//! Nothing can be printed before every member has answered (the next line
//! may be older than all so far), so the chunks are kept as they arrived,
//! with a 24-byte key per line: memory grows with the result, unlike
//! arrival order's.

use std::collections::HashMap;
use std::io;

use rumor_wire::NodeId;

use crate::{Chunk, LineRef};

/// Received chunks and where each of their lines goes.
#[derive(Debug, Default)]
pub struct TimeOrder {
    /// Each member's place in member order.
    rank: HashMap<NodeId, u32>,
    chunks: Vec<Chunk>,
    keys: Vec<Key>,
}

/// One line's place: sorted by `(unstamped, ts, rank, chunk, line)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    unstamped: bool,
    ts: u64,
    rank: u32,
    chunk: u32,
    line: u32,
}

impl TimeOrder {
    /// An empty timeline for the answers of `members`.
    pub fn new(members: &[NodeId]) -> TimeOrder {
        let mut sorted = members.to_vec();
        sorted.sort();
        TimeOrder {
            rank: sorted.into_iter().zip(0..).collect(),
            ..TimeOrder::default()
        }
    }

    /// Keeps a chunk's lines for later.
    pub fn push(&mut self, chunk: Chunk) {
        // A member not in the list (it cannot be: the fan-out checks who
        // answers) would sort after the others.
        let rank = self.rank.get(&chunk.node()).copied().unwrap_or(u32::MAX);
        let at = self.chunks.len() as u32;
        for (i, line) in chunk.lines().enumerate() {
            let ts = timestamp(line.text);
            self.keys.push(Key {
                unstamped: ts.is_none(),
                ts: ts.unwrap_or(0),
                rank,
                chunk: at,
                line: i as u32,
            });
        }
        self.chunks.push(chunk);
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if no line was kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Hands every line kept to `print`, in time order, with its member.
    pub fn drain(
        mut self,
        print: &mut dyn FnMut(NodeId, LineRef<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        // Keys are unique (chunk and line), so an unstable sort is exact.
        self.keys.sort_unstable();
        let lines: Vec<Vec<LineRef<'_>>> =
            self.chunks.iter().map(|c| c.lines().collect()).collect();
        for key in &self.keys {
            let chunk = key.chunk as usize;
            print(self.chunks[chunk].node(), lines[chunk][key.line as usize])?;
        }
        Ok(())
    }
}

/// The `"ts_ms":N` stamp of an event line, if it has one (spaces allowed
/// after the colon, as JSON allows).
pub fn timestamp(text: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"ts_ms\":";
    let at = text.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &text[at..];
    let digits_at = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let digits = &rest[digits_at..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::{DgrepChunk, GrepLine};

    fn node(n: u8) -> NodeId {
        format!("127.0.0.{n}:4000#1").parse().unwrap()
    }

    fn chunk(n: u8, texts: &[&str]) -> Chunk {
        Chunk::from_chunk(&DgrepChunk {
            query: 1,
            node: node(n),
            lines: texts
                .iter()
                .map(|t| GrepLine {
                    file: "events.jsonl".into(),
                    line_number: None,
                    text: t.as_bytes().to_vec(),
                })
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn reads_stamps() {
        assert_eq!(
            timestamp(br#"{"ts_ms":1763900000123,"x":1}"#),
            Some(1763900000123)
        );
        assert_eq!(timestamp(br#"{"ts_ms": 5}"#), Some(5));
        assert_eq!(timestamp(br#"{"ts_ms":"5"}"#), None);
        assert_eq!(timestamp(b"2026-11-23T10:00:00Z INFO ts_ms=5"), None);
        assert_eq!(timestamp(br#""ts_ms":99999999999999999999999"#), None);
    }

    #[test]
    fn stamped_lines_by_time_then_the_rest_by_member() {
        let mut order = TimeOrder::new(&[node(3), node(2)]);
        order.push(chunk(
            3,
            &[r#"{"ts_ms":30}"#, "late plain 3", r#"{"ts_ms":10}"#],
        ));
        order.push(chunk(
            2,
            &["plain 2", r#"{"ts_ms":20}"#, r#"{"ts_ms":10,"b":2}"#],
        ));
        order.push(chunk(3, &["plain 3 again"]));
        assert_eq!(order.len(), 7);
        let mut seen = Vec::new();
        order
            .drain(&mut |node, line| {
                seen.push(format!(
                    "{} {}",
                    node.addr.ip(),
                    String::from_utf8_lossy(line.text)
                ));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                // The tie at 10: member 2 sorts before member 3.
                r#"127.0.0.2 {"ts_ms":10,"b":2}"#,
                r#"127.0.0.3 {"ts_ms":10}"#,
                r#"127.0.0.2 {"ts_ms":20}"#,
                r#"127.0.0.3 {"ts_ms":30}"#,
                "127.0.0.2 plain 2",
                "127.0.0.3 late plain 3",
                "127.0.0.3 plain 3 again",
            ]
        );
    }
}
