//! What the client prints: selected lines (or per-file counts) on stdout as
//! they arrive, a progress line while waiting, and a per-node summary on
//! stderr at the end; and the exit status that tells complete from partial.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use rumor_wire::{DgrepDone, NodeId};

use crate::client::{Outcome, Reply};

/// dgrep's exit statuses: grep's 0/1/2, plus one for a partial answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: every member answered and some line was selected.
    Selected = 0,
    /// 1: every member answered and no line was selected.
    NoneSelected = 1,
    /// 2: an error: bad usage, no member list, or a member reported an error
    /// (a rejected pattern, an unreadable file).
    Error = 2,
    /// 3: some members did not answer in time or could not be reached; what
    /// the others sent was printed.
    Partial = 3,
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Redraws a one-line progress report on a terminal, at most ten times a second.
#[derive(Debug)]
struct Progress {
    drawn: bool,
    last: Option<Instant>,
}

const REDRAW: Duration = Duration::from_millis(100);

/// Prints replies as they arrive and the summary at the end.
#[derive(Debug)]
pub struct Printer<W: Write, E: Write> {
    out: W,
    err: E,
    count_only: bool,
    progress: Option<Progress>,
    started: Instant,
    asked: usize,
    answered: usize,
    selected: u64,
    /// Each node's line prefix (with its trailing space), formatted once.
    prefix: BTreeMap<NodeId, String>,
}

impl<W: Write, E: Write> Printer<W, E> {
    /// A printer for a query to `asked` members. `progress`: draw a progress
    /// line on `err` (a terminal) while waiting.
    pub fn new(out: W, err: E, count_only: bool, asked: usize, progress: bool) -> Self {
        Printer {
            out,
            err,
            count_only,
            progress: progress.then_some(Progress {
                drawn: false,
                last: None,
            }),
            started: Instant::now(),
            asked,
            answered: 0,
            selected: 0,
            prefix: BTreeMap::new(),
        }
    }

    /// Prints one reply. Errors are stdout's (a closed pipe): stop then.
    pub fn reply(&mut self, reply: Reply) -> io::Result<()> {
        // stdout may be the same terminal: lines must not land after the
        // progress text.
        self.clear_progress();
        match reply {
            Reply::Lines(chunk) => {
                let prefix = self
                    .prefix
                    .entry(chunk.node())
                    .or_insert_with(|| format!("{} ", chunk.node()));
                for line in chunk.lines() {
                    self.out.write_all(prefix.as_bytes())?;
                    self.out.write_all(line.file.as_bytes())?;
                    match line.line_number {
                        Some(n) => {
                            self.out.write_all(b":")?;
                            self.out.write_all(decimal(n, &mut [0; 20]))?;
                            self.out.write_all(b": ")?;
                        }
                        None => self.out.write_all(b": ")?,
                    }
                    self.out.write_all(line.text)?;
                    self.out.write_all(b"\n")?;
                }
                self.selected += chunk.len() as u64;
                self.out.flush()?;
            }
            Reply::Done(done) => {
                self.answered += 1;
                if self.count_only {
                    self.selected += done.counts.iter().map(|c| c.count).sum::<u64>();
                    for file in &done.counts {
                        writeln!(self.out, "{} {}:{}", done.node, file.file, file.count)?;
                    }
                    self.out.flush()?;
                }
            }
        }
        self.draw_progress();
        Ok(())
    }

    fn clear_progress(&mut self) {
        if let Some(progress) = &mut self.progress {
            if progress.drawn {
                progress.drawn = false;
                let _ = write!(self.err, "\r\x1b[K");
                let _ = self.err.flush();
            }
        }
    }

    fn draw_progress(&mut self) {
        let Some(progress) = &mut self.progress else {
            return;
        };
        let now = Instant::now();
        // At most ten redraws a second; the final state always.
        if progress.last.is_some_and(|t| now - t < REDRAW) && self.answered < self.asked {
            return;
        }
        progress.last = Some(now);
        progress.drawn = true;
        // A failed write to a terminal's stderr is not worth stopping for.
        let _ = write!(
            self.err,
            "\r\x1b[K{}/{} members answered, {} lines selected",
            self.answered, self.asked, self.selected
        );
        let _ = self.err.flush();
    }

    /// Clears the progress line, prints the summary on stderr and returns the
    /// exit status.
    pub fn finish(mut self, outcome: &Outcome) -> io::Result<Status> {
        self.out.flush()?;
        self.clear_progress();
        let mut by_node: Vec<&DgrepDone> = outcome.answered.iter().collect();
        by_node.sort_by_key(|d| d.node);
        let mut total = 0u64;
        let mut bytes = 0u64;
        let mut errors = false;
        for done in &by_node {
            let selected: u64 = done.counts.iter().map(|c| c.count).sum();
            total += selected;
            bytes += done.bytes_searched;
            writeln!(
                self.err,
                "{}: {} lines selected, {} searched, {} ms",
                done.node,
                selected,
                human_bytes(done.bytes_searched),
                done.elapsed_ms
            )?;
            if let Some(error) = &done.error {
                errors = true;
                writeln!(self.err, "{}: error: {}", done.node, error)?;
            }
        }
        for (node, why) in &outcome.unreachable {
            writeln!(self.err, "{node}: unreachable: {why}")?;
        }
        for (node, why) in &outcome.broken {
            writeln!(self.err, "{node}: answer cut short: {why}")?;
        }
        for node in &outcome.missing {
            writeln!(self.err, "{node}: no answer in time")?;
        }
        writeln!(
            self.err,
            "total: {} lines selected, {} of {} members answered, {} searched, {} ms",
            total,
            outcome.answered.len(),
            outcome.asked.len(),
            human_bytes(bytes),
            self.started.elapsed().as_millis()
        )?;
        self.err.flush()?;
        Ok(if errors {
            Status::Error
        } else if !outcome.complete() {
            Status::Partial
        } else if total > 0 {
            Status::Selected
        } else {
            Status::NoneSelected
        })
    }
}

/// `n` in decimal, written into the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Chunk;
    use rumor_wire::{DgrepChunk, FileCount, GrepLine};

    fn node(n: u8) -> NodeId {
        format!("127.0.0.{n}:4000#7").parse().unwrap()
    }

    fn done(n: u8, count: u64, error: Option<&str>) -> DgrepDone {
        DgrepDone {
            query: 1,
            node: node(n),
            counts: vec![FileCount {
                file: "agent.log".into(),
                count,
            }],
            bytes_searched: 2048,
            elapsed_ms: 5,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn prints_prefixed_lines_and_statuses() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut p = Printer::new(&mut out, &mut err, false, 2, false);
        let line = |n, text: &str| GrepLine {
            file: "agent.log".into(),
            line_number: n,
            text: text.into(),
        };
        let chunk = DgrepChunk {
            query: 1,
            node: node(2),
            lines: vec![
                line(Some(42), "hello"),
                line(None, "x"),
                line(Some(u64::MAX), ""),
            ],
        };
        p.reply(Reply::Lines(Chunk::from_chunk(&chunk).unwrap()))
            .unwrap();
        p.reply(Reply::Done(done(2, 2, None))).unwrap();
        let outcome = Outcome {
            asked: vec![node(2), node(3)],
            answered: vec![done(2, 2, None)],
            missing: vec![node(3)],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::Partial);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.2:4000#7 agent.log:42: hello\n127.0.0.2:4000#7 agent.log: x\n\
             127.0.0.2:4000#7 agent.log:18446744073709551615: \n"
        );
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("127.0.0.3:4000#7: no answer in time"), "{err}");
        assert!(
            err.contains("total: 2 lines selected, 1 of 2 members"),
            "{err}"
        );
    }

    #[test]
    fn progress_line_is_drawn_and_cleared() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut p = Printer::new(&mut out, &mut err, true, 2, true);
        p.reply(Reply::Done(done(2, 5, None))).unwrap();
        p.reply(Reply::Done(done(3, 1, None))).unwrap();
        let outcome = Outcome {
            asked: vec![node(2), node(3)],
            answered: vec![done(2, 5, None), done(3, 1, None)],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::Selected);
        let err = String::from_utf8(err).unwrap();
        // The last state is always drawn, then erased before the summary.
        let drawn = "\r\x1b[K2/2 members answered, 6 lines selected\r\x1b[K127.0.0.2";
        assert!(err.contains(drawn), "{err:?}");
    }

    #[test]
    fn counts_and_exit_statuses() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut p = Printer::new(&mut out, &mut err, true, 1, false);
        p.reply(Reply::Done(done(2, 0, None))).unwrap();
        let outcome = Outcome {
            asked: vec![node(2)],
            answered: vec![done(2, 0, None)],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::NoneSelected);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.2:4000#7 agent.log:0\n"
        );
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let p = Printer::new(&mut out, &mut err, true, 1, false);
        let outcome = Outcome {
            asked: vec![node(2)],
            answered: vec![done(2, 3, Some("bad pattern"))],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::Error);
        assert_eq!(human_bytes(2048), "2.0 KiB");
    }
}
