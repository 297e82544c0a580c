//! What the client prints on stdout for each member's answer, in grep's
//! formats.
//!
//! Every line starts with the member (`127.0.0.1:3001#1795476581232 `);
//! after it comes what grep prints over several files, except for one space
//! between grep's prefix (file name, line number and their separators) and
//! the line's text, so that the text stands apart from the member and file:
//!
//! ```text
//! MEMBER agent.log:42: selected line        grep -n over several files
//! MEMBER agent.log-43- context line         -A/-B/-C
//! MEMBER --                                 between groups of context
//! MEMBER 42: selected line                  -h -n
//! MEMBER selected line                      -h
//! MEMBER agent.log:7                        -c (MEMBER 7 with -h)
//! MEMBER agent.log                          -l, -L
//! ```
//!
//! Members' lines arrive interleaved a chunk at a time, so the `--` between
//! groups is per member, as if each member's files were one grep's: a group
//! ends where the next line received is not the one after it in the same
//! file. Agents send context lines like selected ones; [`Output`] tells them
//! apart by matching each line with the query's own [`LineMatcher`] (and by
//! `-m`: a file's lines after its last allowed selected line are context).
//! `-o` and `--color` use the same matcher on the client.

use std::collections::HashMap;
use std::io::{self, Write};

use rumor_wire::{DgrepDone, NodeId};

use crate::colour::{Part, paint};
use crate::{Chunk, LineMatcher, LineRef};

/// What is printed for each member's answer: grep's output modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Selected lines (or with `-o`, their matches), with context if asked.
    #[default]
    Lines,
    /// `-c`: a count of selected lines per file.
    Count,
    /// `-l`: the files with a selected line.
    FilesWithMatches,
    /// `-L`: the files without one.
    FilesWithoutMatch,
    /// `-q`: nothing.
    Quiet,
}

impl Mode {
    /// True if members need only send counts, not lines.
    pub fn counts_only(self) -> bool {
        self != Mode::Lines
    }
}

/// How lines are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// What is printed.
    pub mode: Mode,
    /// Print the file name (`-H`, the default, as grep over several files);
    /// `-h` clears it.
    pub file_names: bool,
    /// `-n`: print line numbers.
    pub line_numbers: bool,
    /// `-o`: print each match of a selected line on its own line.
    pub only_matching: bool,
    /// `-A`, `-B` or `-C` was given (even 0): print `--` between groups,
    /// tell context lines (`-`) from selected ones (`:`). Members must then
    /// send line numbers.
    pub context: bool,
    /// `-m NUM`, to tell the context lines after a file's last allowed
    /// selected line.
    pub max_count: Option<u64>,
    /// `-v`: selected lines are those that do not match.
    pub invert: bool,
    /// Colour as grep does (`--color`).
    pub colour: bool,
}

impl Default for OutputOptions {
    fn default() -> OutputOptions {
        OutputOptions {
            mode: Mode::Lines,
            file_names: true,
            line_numbers: false,
            only_matching: false,
            context: false,
            max_count: None,
            invert: false,
            colour: false,
        }
    }
}

/// Where each member's output stands.
#[derive(Debug)]
struct MemberState {
    /// `MEMBER `, formatted once.
    prefix: Vec<u8>,
    /// With context: the file and number of the last line received.
    last: Option<(String, u64)>,
    /// With context: lines selected so far in that file (for `-m`).
    selected_in_file: u64,
}

/// Prints members' answers to `out`.
#[derive(Debug)]
pub struct Output<W: Write> {
    out: W,
    options: OutputOptions,
    matcher: LineMatcher,
    members: HashMap<NodeId, MemberState>,
}

impl<W: Write> Output<W> {
    /// An output to `out`; `matcher` is the query's, compiled from the
    /// patterns and flags the members were sent.
    pub fn new(out: W, options: OutputOptions, matcher: LineMatcher) -> Output<W> {
        Output {
            out,
            options,
            matcher,
            members: HashMap::new(),
        }
    }

    /// The options printed under.
    pub fn options(&self) -> &OutputOptions {
        &self.options
    }

    /// Prints a chunk's lines; returns how many of them are selected lines
    /// (not context).
    pub fn chunk(&mut self, chunk: &Chunk) -> io::Result<u64> {
        let state = member(&mut self.members, chunk.node());
        let mut selected = 0;
        for line in chunk.lines() {
            selected += u64::from(print_line(
                &mut self.out,
                &self.options,
                &self.matcher,
                state,
                line,
            )?);
        }
        Ok(selected)
    }

    /// Prints one line of `node`'s; true if it is a selected line.
    pub fn line(&mut self, node: NodeId, line: LineRef<'_>) -> io::Result<bool> {
        let state = member(&mut self.members, node);
        print_line(&mut self.out, &self.options, &self.matcher, state, line)
    }

    /// Prints what a member's last reply holds for `-c`, `-l` and `-L`.
    pub fn done(&mut self, done: &DgrepDone) -> io::Result<()> {
        let mode = self.options.mode;
        if matches!(mode, Mode::Lines | Mode::Quiet) {
            return Ok(());
        }
        let colour = self.options.colour;
        let prefix = &member(&mut self.members, done.node).prefix;
        for file in &done.counts {
            let listed = match mode {
                Mode::FilesWithMatches => file.count > 0,
                Mode::FilesWithoutMatch => file.count == 0,
                _ => true,
            };
            if !listed {
                continue;
            }
            self.out.write_all(prefix)?;
            // grep -c -h prints the bare count; -l and -L always the name.
            if mode != Mode::Count || self.options.file_names {
                part(&mut self.out, colour, Part::FileName, file.file.as_bytes())?;
            }
            if mode == Mode::Count {
                if self.options.file_names {
                    part(&mut self.out, colour, Part::Separator, b":")?;
                }
                self.out.write_all(decimal(file.count, &mut [0; 20]))?;
            }
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Flushes what was printed.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn member(members: &mut HashMap<NodeId, MemberState>, node: NodeId) -> &mut MemberState {
    members.entry(node).or_insert_with(|| MemberState {
        prefix: format!("{node} ").into_bytes(),
        last: None,
        selected_in_file: 0,
    })
}

/// Prints one received line (a selected or, with context, a context line)
/// and the `--` before it if it starts a group; true if it is selected.
fn print_line(
    out: &mut impl Write,
    options: &OutputOptions,
    matcher: &LineMatcher,
    state: &mut MemberState,
    line: LineRef<'_>,
) -> io::Result<bool> {
    let selected = if options.context {
        group(out, options, matcher, state, line)?
    } else {
        true
    };
    let colour = options.colour;
    if options.only_matching {
        // grep -o prints the matches of selected lines only: none with -v.
        if !selected || options.invert {
            return Ok(selected);
        }
        let mut result = Ok(());
        matcher.for_each_match(line.text, |start, end| {
            if result.is_ok() {
                result = head(out, options, state, line, b':').and_then(|()| {
                    part(out, colour, Part::SelectedMatch, &line.text[start..end])?;
                    out.write_all(b"\n")
                });
            }
        });
        return result.map(|()| selected);
    }
    head(
        out,
        options,
        state,
        line,
        if selected { b':' } else { b'-' },
    )?;
    // grep colours the matches of a line that matches: a selected line, or
    // with -v a context line.
    if colour && selected != options.invert {
        let paint_as = if selected {
            Part::SelectedMatch
        } else {
            Part::ContextMatch
        };
        let mut result = Ok(());
        let mut done = 0;
        matcher.for_each_match(line.text, |start, end| {
            if result.is_ok() {
                result = out
                    .write_all(&line.text[done..start])
                    .and_then(|()| paint(out, paint_as, &line.text[start..end]));
                done = end;
            }
        });
        result?;
        out.write_all(&line.text[done..])?;
    } else {
        out.write_all(line.text)?;
    }
    out.write_all(b"\n")?;
    Ok(selected)
}

/// With context: prints `--` if `line` does not follow the member's last
/// line, and tells whether `line` is selected.
fn group(
    out: &mut impl Write,
    options: &OutputOptions,
    matcher: &LineMatcher,
    state: &mut MemberState,
    line: LineRef<'_>,
) -> io::Result<bool> {
    let number = line.line_number.unwrap_or(0);
    let same_file = match &mut state.last {
        Some((file, last)) if file == line.file => {
            if number != *last + 1 {
                out.write_all(&state.prefix)?;
                part(out, options.colour, Part::Separator, b"--")?;
                out.write_all(b"\n")?;
            }
            *last = number;
            true
        }
        last => {
            if last.is_some() {
                out.write_all(&state.prefix)?;
                part(out, options.colour, Part::Separator, b"--")?;
                out.write_all(b"\n")?;
            }
            *last = Some((line.file.to_owned(), number));
            false
        }
    };
    if !same_file {
        state.selected_in_file = 0;
    }
    // Past -m, the rest of a file's lines are its last group's context.
    let selected = state.selected_in_file < options.max_count.unwrap_or(u64::MAX)
        && matcher.is_match(line.text) != options.invert;
    state.selected_in_file += u64::from(selected);
    Ok(selected)
}

/// The member, then grep's prefix (file name and line number, each followed
/// by `sep`) and a space if there is one.
fn head(
    out: &mut impl Write,
    options: &OutputOptions,
    state: &MemberState,
    line: LineRef<'_>,
    sep: u8,
) -> io::Result<()> {
    let colour = options.colour;
    out.write_all(&state.prefix)?;
    let mut prefixed = false;
    if options.file_names {
        part(out, colour, Part::FileName, line.file.as_bytes())?;
        part(out, colour, Part::Separator, &[sep])?;
        prefixed = true;
    }
    if let (true, Some(n)) = (options.line_numbers, line.line_number) {
        part(out, colour, Part::LineNumber, decimal(n, &mut [0; 20]))?;
        part(out, colour, Part::Separator, &[sep])?;
        prefixed = true;
    }
    if prefixed {
        out.write_all(b" ")?;
    }
    Ok(())
}

/// Writes `text`, painted as `what` if colouring.
fn part(out: &mut impl Write, colour: bool, what: Part, text: &[u8]) -> io::Result<()> {
    if colour {
        paint(out, what, text)
    } else {
        out.write_all(text)
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

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::{DgrepChunk, FileCount, GrepFlags, GrepLine};

    fn node() -> NodeId {
        "127.0.0.2:4000#7".parse().unwrap()
    }

    fn chunk(lines: &[(&str, u64, &str)]) -> Chunk {
        Chunk::from_chunk(&DgrepChunk {
            query: 1,
            node: node(),
            lines: lines
                .iter()
                .map(|(file, n, text)| GrepLine {
                    file: file.to_string(),
                    line_number: Some(*n),
                    text: text.as_bytes().to_vec(),
                })
                .collect(),
        })
        .unwrap()
    }

    fn print(options: OutputOptions, pattern: &str, lines: &[(&str, u64, &str)]) -> String {
        let matcher = LineMatcher::new(&[pattern.into()], &GrepFlags::default()).unwrap();
        let mut out = Output::new(Vec::new(), options, matcher);
        out.chunk(&chunk(lines)).unwrap();
        String::from_utf8(out.out).unwrap()
    }

    const LINES: [(&str, u64, &str); 5] = [
        ("a.log", 1, "a1"),
        ("a.log", 2, "b2"),
        ("a.log", 4, "a4"),
        ("b.log", 5, "a5"),
        ("b.log", 6, "a6"),
    ];

    #[test]
    fn prefixes_with_and_without_file_names_and_numbers() {
        let got = print(OutputOptions::default(), "a", &LINES[..1]);
        assert_eq!(got, "127.0.0.2:4000#7 a.log: a1\n");
        let options = OutputOptions {
            file_names: false,
            line_numbers: true,
            ..OutputOptions::default()
        };
        assert_eq!(print(options, "a", &LINES[..1]), "127.0.0.2:4000#7 1: a1\n");
        let options = OutputOptions {
            file_names: false,
            ..OutputOptions::default()
        };
        assert_eq!(print(options, "a", &LINES[..1]), "127.0.0.2:4000#7 a1\n");
    }

    #[test]
    fn context_separators_and_kinds() {
        let options = OutputOptions {
            context: true,
            line_numbers: true,
            ..OutputOptions::default()
        };
        let m = "127.0.0.2:4000#7";
        assert_eq!(
            print(options.clone(), "a", &LINES),
            format!(
                "{m} a.log:1: a1\n{m} a.log-2- b2\n{m} --\n{m} a.log:4: a4\n{m} --\n\
                 {m} b.log:5: a5\n{m} b.log:6: a6\n"
            )
        );
        // -m 1: a file's lines after its first selected one are context.
        let options = OutputOptions {
            max_count: Some(1),
            ..options
        };
        assert_eq!(
            print(options, "a", &LINES[3..]),
            format!("{m} b.log:5: a5\n{m} b.log-6- a6\n")
        );
    }

    #[test]
    fn only_matching_and_colour() {
        let options = OutputOptions {
            only_matching: true,
            colour: true,
            file_names: false,
            ..OutputOptions::default()
        };
        assert_eq!(
            print(options, "[0-9]", &[("f", 1, "x1y2")]),
            "127.0.0.2:4000#7 \x1b[01;31m\x1b[K1\x1b[m\x1b[K\n\
             127.0.0.2:4000#7 \x1b[01;31m\x1b[K2\x1b[m\x1b[K\n"
        );
        let options = OutputOptions {
            colour: true,
            ..OutputOptions::default()
        };
        assert_eq!(
            print(options, "b", &[("f", 1, "abc")]),
            "127.0.0.2:4000#7 \x1b[35m\x1b[Kf\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[K \
             a\x1b[01;31m\x1b[Kb\x1b[m\x1b[Kc\n"
        );
    }

    #[test]
    fn counts_and_file_lists() {
        let mut done = DgrepDone::new(1, node());
        done.counts = vec![
            FileCount {
                file: "a.log".into(),
                count: 3,
            },
            FileCount {
                file: "b.log".into(),
                count: 0,
            },
        ];
        let run = |mode, file_names| {
            let options = OutputOptions {
                mode,
                file_names,
                ..OutputOptions::default()
            };
            let matcher = LineMatcher::new(&["x".into()], &GrepFlags::default()).unwrap();
            let mut out = Output::new(Vec::new(), options, matcher);
            out.done(&done).unwrap();
            String::from_utf8(out.out).unwrap()
        };
        let m = "127.0.0.2:4000#7";
        assert_eq!(
            run(Mode::Count, true),
            format!("{m} a.log:3\n{m} b.log:0\n")
        );
        assert_eq!(run(Mode::Count, false), format!("{m} 3\n{m} 0\n"));
        assert_eq!(run(Mode::FilesWithMatches, false), format!("{m} a.log\n"));
        assert_eq!(run(Mode::FilesWithoutMatch, true), format!("{m} b.log\n"));
        assert_eq!(run(Mode::Quiet, true), "");
        assert_eq!(run(Mode::Lines, true), "");
    }
}
