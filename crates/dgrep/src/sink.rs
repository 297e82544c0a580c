//! Where the engine reports what it selected: the network stream in an agent,
//! memory in a test.

use std::io;

/// Receives the lines a search selects, file by file, in file order.
///
/// The engine calls [`LineSink::line`] for every selected line and
/// [`LineSink::context`] for every context line around them (`-A -B -C`),
/// in file order (never in count mode, where only [`LineSink::file_done`] is
/// called), then [`LineSink::file_done`] once per file searched. An error returned by the
/// sink stops the whole search and is handed back to the caller: a sink that
/// writes to a socket stops the search when the reader went away.
pub trait LineSink {
    /// One selected line of `file`, without its line terminator.
    /// `line_number` is 1-based, present only when line numbers were asked for.
    fn line(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()>;

    /// One context line of `file`, as [`LineSink::line`]. By default it goes
    /// where selected lines go: on the wire the two look alike (the client
    /// tells them apart by matching).
    fn context(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()> {
        self.line(file, line_number, text)
    }

    /// The end of `file`: `selected` lines were selected in it.
    fn file_done(&mut self, file: &str, selected: u64) -> io::Result<()> {
        let _ = (file, selected);
        Ok(())
    }
}

/// One line a [`Collector`] kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedLine {
    /// The file name as the engine reported it.
    pub file: String,
    /// The 1-based line number, if asked for.
    pub line_number: Option<u64>,
    /// The line without its terminator.
    pub text: Vec<u8>,
    /// True for a context line (`-A -B -C`), false for a selected one.
    pub context: bool,
}

/// A sink that keeps everything in memory: for tests and small searches.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collector {
    /// Every selected and context line, in order.
    pub lines: Vec<CollectedLine>,
    /// Every file searched with its selected-line count, in order.
    pub counts: Vec<(String, u64)>,
}

impl Collector {
    fn keep(&mut self, file: &str, line_number: Option<u64>, text: &[u8], context: bool) {
        self.lines.push(CollectedLine {
            file: file.to_owned(),
            line_number,
            text: text.to_vec(),
            context,
        });
    }
}

impl LineSink for Collector {
    fn line(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()> {
        self.keep(file, line_number, text, false);
        Ok(())
    }

    fn context(&mut self, file: &str, line_number: Option<u64>, text: &[u8]) -> io::Result<()> {
        self.keep(file, line_number, text, true);
        Ok(())
    }

    fn file_done(&mut self, file: &str, selected: u64) -> io::Result<()> {
        self.counts.push((file.to_owned(), selected));
        Ok(())
    }
}
