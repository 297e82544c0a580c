//! The client's side of the terminal: members' answers printed (through
//! [`Output`]) as they arrive, a progress line while waiting, and a
//! per-node summary on stderr at the end; and the exit status that tells
//! complete from partial.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use rumor_wire::DgrepDone;

use crate::client::{Outcome, Reply};
use crate::output::{Mode, Output};
use crate::time_order::TimeOrder;

/// dgrep's exit statuses: grep's 0/1/2, plus one for a partial answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: every member answered and some line was selected.
    Selected = 0,
    /// 1: every member answered and no line was selected.
    NoneSelected = 1,
    /// 2: an error: bad usage, an invalid pattern, no member list, or a
    /// member reported an error (an unreadable file, a request over its
    /// limits). Takes precedence over 3.
    Error = 2,
    /// 3: some members did not answer in time, could not be reached, broke
    /// off their answer, or (`--members`) were not live; what the others
    /// sent was printed.
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

/// What goes to stderr besides the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Messages {
    /// The per-node summary and the total at the end (`-q` clears it).
    pub summary: bool,
    /// Members' errors and members that did not answer (`-s` clears it; the
    /// exit status still tells).
    pub problems: bool,
    /// A progress line while waiting (when stderr is a terminal).
    pub progress: bool,
}

impl Default for Messages {
    fn default() -> Messages {
        Messages {
            summary: true,
            problems: true,
            progress: false,
        }
    }
}

/// Prints replies as they arrive (or, sorting by time, at the end) and the
/// summary at the end.
#[derive(Debug)]
pub struct Printer<W: Write, E: Write> {
    output: Output<W>,
    err: E,
    messages: Messages,
    progress: Option<Progress>,
    /// `--sort time`: lines kept until every member answered.
    by_time: Option<TimeOrder>,
    started: Instant,
    asked: usize,
    answered: usize,
    selected: u64,
}

impl<W: Write, E: Write> Printer<W, E> {
    /// A printer for a query to `asked` members, printing lines through
    /// `output` and everything else to `err`.
    pub fn new(output: Output<W>, err: E, messages: Messages, asked: usize) -> Self {
        Printer {
            output,
            err,
            messages,
            progress: messages.progress.then_some(Progress {
                drawn: false,
                last: None,
            }),
            by_time: None,
            started: Instant::now(),
            asked,
            answered: 0,
            selected: 0,
        }
    }

    /// Keeps lines until the end and prints them merged by time
    /// (`--sort time`, see [`TimeOrder`]).
    pub fn sort_by_time(&mut self, order: TimeOrder) {
        self.by_time = Some(order);
    }

    /// Lines selected so far, as far as the replies received tell.
    pub fn selected(&self) -> u64 {
        self.selected
    }

    /// Prints one reply. Errors are stdout's (a closed pipe): stop then.
    pub fn reply(&mut self, reply: Reply) -> io::Result<()> {
        // stdout may be the same terminal: lines must not land after the
        // progress text.
        self.clear_progress();
        match reply {
            Reply::Lines(chunk) => match &mut self.by_time {
                Some(order) => {
                    // No context with --sort time: every line is selected.
                    self.selected += chunk.len() as u64;
                    order.push(chunk);
                }
                None => {
                    self.selected += self.output.chunk(&chunk)?;
                    self.output.flush()?;
                }
            },
            Reply::Done(done) => {
                self.answered += 1;
                if self.output.options().mode.counts_only() {
                    self.selected += done.counts.iter().map(|c| c.count).sum::<u64>();
                    self.output.done(&done)?;
                    self.output.flush()?;
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

    /// Prints the lines kept for `--sort time`, clears the progress line,
    /// prints the summary on stderr and returns the exit status.
    pub fn finish(mut self, outcome: &Outcome) -> io::Result<Status> {
        self.clear_progress();
        if let Some(order) = self.by_time.take() {
            let output = &mut self.output;
            order.drain(&mut |node, line| output.line(node, line).map(drop))?;
        }
        self.output.flush()?;
        let mut by_node: Vec<&DgrepDone> = outcome.answered.iter().collect();
        by_node.sort_by_key(|d| d.node);
        let mut total = 0u64;
        let mut bytes = 0u64;
        let mut errors = false;
        let (summary, problems) = (self.messages.summary, self.messages.problems);
        for done in &by_node {
            let selected: u64 = done.counts.iter().map(|c| c.count).sum();
            total += selected;
            bytes += done.bytes_searched;
            if summary {
                writeln!(
                    self.err,
                    "{}: {} lines selected, {} searched, {} ms",
                    done.node,
                    selected,
                    human_bytes(done.bytes_searched),
                    done.elapsed_ms
                )?;
            }
            if let Some(error) = &done.error {
                errors = true;
                if problems {
                    writeln!(self.err, "{}: error: {}", done.node, error)?;
                }
            }
        }
        if problems {
            for (node, why) in &outcome.unreachable {
                writeln!(self.err, "{node}: unreachable: {why}")?;
            }
            for (node, why) in &outcome.broken {
                writeln!(self.err, "{node}: answer cut short: {why}")?;
            }
            for node in &outcome.missing {
                writeln!(self.err, "{node}: no answer in time")?;
            }
        }
        if summary {
            writeln!(
                self.err,
                "total: {} lines selected, {} of {} members answered, {} searched, {} ms",
                total,
                outcome.answered.len(),
                outcome.asked.len(),
                human_bytes(bytes),
                self.started.elapsed().as_millis()
            )?;
        }
        self.err.flush()?;
        let quiet = self.output.options().mode == Mode::Quiet;
        Ok(if quiet && total > 0 {
            // grep -q: a selected line is success, whatever else went wrong.
            Status::Selected
        } else if errors {
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
    use crate::output::OutputOptions;
    use crate::{Chunk, LineMatcher};
    use rumor_wire::{DgrepChunk, FileCount, GrepFlags, GrepLine, NodeId};

    fn node(n: u8) -> NodeId {
        format!("127.0.0.{n}:4000#7").parse().unwrap()
    }

    fn done(n: u8, count: u64, error: Option<&str>) -> DgrepDone {
        let mut done = DgrepDone::new(1, node(n));
        done.counts = vec![FileCount {
            file: "agent.log".into(),
            count,
        }];
        done.bytes_searched = 2048;
        done.elapsed_ms = 5;
        done.error = error.map(str::to_owned);
        done
    }

    fn printer<'a>(
        out: &'a mut Vec<u8>,
        err: &'a mut Vec<u8>,
        mode: Mode,
        messages: Messages,
        asked: usize,
    ) -> Printer<&'a mut Vec<u8>, &'a mut Vec<u8>> {
        let options = OutputOptions {
            mode,
            line_numbers: true,
            ..OutputOptions::default()
        };
        let matcher = LineMatcher::new(&["l".into()], &GrepFlags::default()).unwrap();
        Printer::new(Output::new(out, options, matcher), err, messages, asked)
    }

    fn lines(n: u8, lines: &[(Option<u64>, &str)]) -> Reply {
        let chunk = DgrepChunk {
            query: 1,
            node: node(n),
            lines: lines
                .iter()
                .map(|(number, text)| GrepLine {
                    file: "agent.log".into(),
                    line_number: *number,
                    text: text.as_bytes().to_vec(),
                })
                .collect(),
        };
        Reply::Lines(Chunk::from_chunk(&chunk).unwrap())
    }

    #[test]
    fn prints_prefixed_lines_and_statuses() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut p = printer(&mut out, &mut err, Mode::Lines, Messages::default(), 2);
        p.reply(lines(
            2,
            &[(Some(42), "hello"), (None, "x"), (Some(u64::MAX), "")],
        ))
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
        let messages = Messages {
            progress: true,
            ..Messages::default()
        };
        let mut p = printer(&mut out, &mut err, Mode::Count, messages, 2);
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
        let mut p = printer(&mut out, &mut err, Mode::Count, Messages::default(), 1);
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
        let p = printer(&mut out, &mut err, Mode::Count, Messages::default(), 1);
        let outcome = Outcome {
            asked: vec![node(2)],
            answered: vec![done(2, 3, Some("bad pattern"))],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::Error);
        assert_eq!(human_bytes(2048), "2.0 KiB");
    }

    #[test]
    fn quiet_succeeds_on_any_selected_line_and_no_messages_hides_problems() {
        let outcome = Outcome {
            asked: vec![node(2), node(3), node(4)],
            answered: vec![done(2, 1, Some("x.log: permission denied"))],
            unreachable: vec![(node(3), "refused".into())],
            missing: vec![node(4)],
            ..Outcome::default()
        };
        let quiet = Messages {
            summary: false,
            ..Messages::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let p = printer(&mut out, &mut err, Mode::Quiet, quiet, 3);
        assert_eq!(p.finish(&outcome).unwrap(), Status::Selected);
        let err = String::from_utf8(err).unwrap();
        assert!(out.is_empty());
        assert!(!err.contains("total"), "{err}");
        assert_eq!(err.lines().count(), 3, "{err}");
        // -s: the problems go unsaid, the status still tells.
        let silent = Messages {
            problems: false,
            ..Messages::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let p = printer(&mut out, &mut err, Mode::Lines, silent, 3);
        assert_eq!(p.finish(&outcome).unwrap(), Status::Error);
        let err = String::from_utf8(err).unwrap();
        assert!(!err.contains("refused") && !err.contains("denied"), "{err}");
        assert!(err.contains("total: 1 lines selected, 1 of 3"), "{err}");
    }

    #[test]
    fn lines_sorted_by_time_wait_for_the_end() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut p = printer(&mut out, &mut err, Mode::Lines, Messages::default(), 2);
        p.sort_by_time(TimeOrder::new(&[node(2), node(3)]));
        p.reply(lines(3, &[(None, r#"{"ts_ms":20}"#), (None, "plain")]))
            .unwrap();
        p.reply(lines(
            2,
            &[(None, r#"{"ts_ms":30}"#), (None, r#"{"ts_ms":10}"#)],
        ))
        .unwrap();
        assert_eq!(p.selected(), 4);
        let outcome = Outcome {
            asked: vec![node(2), node(3)],
            answered: vec![done(2, 2, None), done(3, 2, None)],
            ..Outcome::default()
        };
        assert_eq!(p.finish(&outcome).unwrap(), Status::Selected);
        let got = String::from_utf8(out).unwrap();
        let texts: Vec<&str> = got
            .lines()
            .map(|l| &l[l.find(": ").unwrap() + 2..])
            .collect();
        assert_eq!(
            texts,
            [
                r#"{"ts_ms":10}"#,
                r#"{"ts_ms":20}"#,
                r#"{"ts_ms":30}"#,
                "plain"
            ]
        );
    }
}
