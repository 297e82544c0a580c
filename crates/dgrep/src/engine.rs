//! The search engine: ripgrep's searcher and regex matcher over one agent's
//! files, reporting to a [`LineSink`].
//!
//! Patterns reach the engine in the Rust regex syntax (the client translates
//! grep's POSIX syntax, see [`crate::posix`]). Lines are searched one at a
//! time, never across a line terminator. [`Engine::search_path`] reads files
//! through a bounded buffer: logs are appended to and rotated while they are
//! searched, and a truncated memory map would crash the agent. Only the
//! search worker process maps them ([`Engine::search_path_mapped`]).

use std::fs::File;
use std::io;
use std::path::Path;

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use rumor_wire::GrepFlags;

use crate::{DgrepError, LineSink};

/// The longest line the engine holds in memory; a file with a longer line
/// reports an error for that file.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// The most memory a compiled pattern may take; larger ones are refused.
const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// What searching one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// Lines selected.
    pub selected: u64,
    /// Bytes read.
    pub bytes_searched: u64,
    /// Why the file could not be searched (fully), if so.
    pub error: Option<String>,
}

/// A compiled query: patterns plus grep flags, ready to search files.
#[derive(Debug)]
pub struct Engine {
    matcher: RegexMatcher,
    searcher: Searcher,
    count_only: bool,
    line_numbers: bool,
    skip: bool,
}

impl Engine {
    /// Compiles `patterns` (a line is selected if any matches) under `flags`.
    ///
    /// A pattern holding a newline counts as one pattern per line, as in grep.
    pub fn new(patterns: &[String], flags: &GrepFlags) -> Result<Engine, DgrepError> {
        let split: Vec<&str> = patterns.iter().flat_map(|p| p.split('\n')).collect();
        if split.is_empty() {
            return Err(DgrepError::BadPattern("no pattern given".into()));
        }
        let matcher = RegexMatcherBuilder::new()
            .case_insensitive(flags.ignore_case)
            .fixed_strings(flags.fixed_strings)
            .word(flags.word)
            .whole_line(flags.line)
            .line_terminator(Some(b'\n'))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build_many(&split)
            .map_err(|e| DgrepError::BadPattern(e.to_string()))?;
        let line_numbers = flags.line_number && !flags.count;
        let searcher = SearcherBuilder::new()
            .line_number(line_numbers)
            .invert_match(flags.invert)
            .max_matches(flags.max_count)
            .heap_limit(Some(MAX_LINE_BYTES))
            // grep -c counts every line of a binary file; otherwise, as grep
            // does, output stops where binary data (a NUL byte) shows up.
            .binary_detection(if flags.count {
                BinaryDetection::none()
            } else {
                BinaryDetection::quit(b'\0')
            })
            .build();
        Ok(Engine {
            matcher,
            searcher,
            count_only: flags.count,
            line_numbers,
            skip: flags.max_count == Some(0),
        })
    }

    /// Searches the file at `path`, reporting it to `sink` under `name`.
    ///
    /// A file that cannot be read yields an outcome carrying the error; an
    /// error from the sink stops the search and is returned.
    pub fn search_path(
        &mut self,
        path: &Path,
        name: &str,
        sink: &mut dyn LineSink,
    ) -> io::Result<FileOutcome> {
        self.search(name, sink, |searcher, matcher, adapter| {
            searcher.search_path(matcher, path, adapter)
        })
    }

    /// Like [`Engine::search_path`], but searches a regular file through a
    /// memory map (other files are read as usual).
    ///
    /// The results are the same except in one case: outside count mode, a
    /// mapped file's output stops at a NUL byte found in its first 64 KiB or
    /// in a selected line (as ripgrep does with maps), where a read file's
    /// stops at the first NUL anywhere. Scanning a whole map for NUL first
    /// would cost a second pass over memory.
    ///
    /// Only for the search worker process: if the file shrinks during the
    /// search, the process dies of SIGBUS (see `mapped.rs`).
    pub(crate) fn search_path_mapped(
        &mut self,
        path: &Path,
        name: &str,
        sink: &mut dyn LineSink,
    ) -> io::Result<FileOutcome> {
        self.search(name, sink, |searcher, matcher, adapter| {
            let file = File::open(path)?;
            match crate::mapped::map(&file) {
                Some(map) => searcher.search_slice(matcher, &map, adapter),
                None => searcher.search_file(matcher, &file, adapter),
            }
        })
    }

    /// Searches `bytes` as if they were a file called `name`.
    pub fn search_slice(
        &mut self,
        bytes: &[u8],
        name: &str,
        sink: &mut dyn LineSink,
    ) -> io::Result<FileOutcome> {
        self.search(name, sink, |searcher, matcher, adapter| {
            searcher.search_slice(matcher, bytes, adapter)
        })
    }

    fn search(
        &mut self,
        name: &str,
        sink: &mut dyn LineSink,
        run: impl FnOnce(&mut Searcher, &RegexMatcher, &mut Adapter<'_>) -> io::Result<()>,
    ) -> io::Result<FileOutcome> {
        let mut adapter = Adapter {
            sink,
            name,
            count_only: self.count_only,
            line_numbers: self.line_numbers,
            selected: 0,
            bytes: 0,
            sink_error: None,
        };
        let result = if self.skip {
            Ok(())
        } else {
            run(&mut self.searcher, &self.matcher, &mut adapter)
        };
        if let Some(e) = adapter.sink_error.take() {
            return Err(e);
        }
        let (selected, bytes_searched) = (adapter.selected, adapter.bytes);
        let error = result.err().map(|e| describe(name, &e));
        sink.file_done(name, selected)?;
        Ok(FileOutcome {
            selected,
            bytes_searched,
            error,
        })
    }
}

fn describe(name: &str, e: &io::Error) -> String {
    let text = e.to_string();
    if text.contains("limit") {
        format!("{name}: a line is longer than {MAX_LINE_BYTES} bytes")
    } else {
        format!("{name}: {text}")
    }
}

/// Bridges the searcher's sink to ours, keeping the count and telling a sink
/// failure (fatal) from a file failure (reported, search goes on).
struct Adapter<'s> {
    sink: &'s mut dyn LineSink,
    name: &'s str,
    count_only: bool,
    line_numbers: bool,
    selected: u64,
    bytes: u64,
    sink_error: Option<io::Error>,
}

impl Sink for Adapter<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, found: &SinkMatch<'_>) -> io::Result<bool> {
        self.selected += 1;
        if self.count_only {
            return Ok(true);
        }
        let line = found.bytes();
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let number = if self.line_numbers {
            found.line_number()
        } else {
            None
        };
        match self.sink.line(self.name, number, text) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.sink_error = Some(e);
                Err(io::Error::other("the result sink stopped"))
            }
        }
    }

    fn finish(&mut self, _: &Searcher, finish: &grep_searcher::SinkFinish) -> io::Result<()> {
        self.bytes = finish.byte_count();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Collector;

    fn run(patterns: &[&str], flags: GrepFlags, text: &str) -> Collector {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let mut engine = Engine::new(&patterns, &flags).unwrap();
        let mut out = Collector::default();
        engine.search_slice(text.as_bytes(), "f", &mut out).unwrap();
        out
    }

    fn texts(c: &Collector) -> Vec<String> {
        c.lines
            .iter()
            .map(|l| String::from_utf8_lossy(&l.text).into_owned())
            .collect()
    }

    const TEXT: &str = "alpha one\nBeta two\nalphabet\ngamma\n";

    #[test]
    fn selects_inverts_and_counts() {
        assert_eq!(
            texts(&run(&["alpha"], GrepFlags::default(), TEXT)),
            ["alpha one", "alphabet"]
        );
        let inv = GrepFlags {
            invert: true,
            ..GrepFlags::default()
        };
        assert_eq!(texts(&run(&["alpha"], inv, TEXT)), ["Beta two", "gamma"]);
        let count = GrepFlags {
            count: true,
            ..GrepFlags::default()
        };
        let c = run(&["a"], count, TEXT);
        assert!(c.lines.is_empty());
        assert_eq!(c.counts, [("f".to_string(), 4)]);
    }

    #[test]
    fn case_word_line_fixed_and_max_count() {
        let i = GrepFlags {
            ignore_case: true,
            ..GrepFlags::default()
        };
        assert_eq!(texts(&run(&["beta"], i, TEXT)), ["Beta two"]);
        let w = GrepFlags {
            word: true,
            ..GrepFlags::default()
        };
        assert_eq!(texts(&run(&["alpha"], w, TEXT)), ["alpha one"]);
        let x = GrepFlags {
            line: true,
            ..GrepFlags::default()
        };
        assert_eq!(texts(&run(&["gamma"], x.clone(), TEXT)), ["gamma"]);
        assert!(run(&["gam"], x, TEXT).lines.is_empty());
        let f = GrepFlags {
            fixed_strings: true,
            ..GrepFlags::default()
        };
        assert!(run(&["a.p"], f, TEXT).lines.is_empty());
        let m = GrepFlags {
            max_count: Some(1),
            ..GrepFlags::default()
        };
        assert_eq!(texts(&run(&["alpha"], m, TEXT)), ["alpha one"]);
        let m0 = GrepFlags {
            max_count: Some(0),
            ..GrepFlags::default()
        };
        assert_eq!(run(&["alpha"], m0, TEXT).counts, [("f".to_string(), 0)]);
    }

    #[test]
    fn several_patterns_and_line_numbers() {
        let n = GrepFlags {
            line_number: true,
            ..GrepFlags::default()
        };
        let c = run(&["gamma", "two"], n, TEXT);
        let got: Vec<_> = c.lines.iter().map(|l| l.line_number).collect();
        assert_eq!(got, [Some(2), Some(4)]);
        assert_eq!(
            texts(&run(&["gamma\ntwo"], GrepFlags::default(), TEXT)).len(),
            2
        );
    }

    #[test]
    fn rejects_bad_and_huge_patterns() {
        let flags = GrepFlags::default();
        assert!(matches!(
            Engine::new(&["a(".into()], &flags),
            Err(DgrepError::BadPattern(_))
        ));
        assert!(matches!(
            Engine::new(&[], &flags),
            Err(DgrepError::BadPattern(_))
        ));
        let huge = "(a{1000}){1000}".to_string();
        assert!(matches!(
            Engine::new(&[huge], &flags),
            Err(DgrepError::BadPattern(_))
        ));
    }

    #[test]
    fn a_failing_sink_stops_the_search() {
        struct Refuse;
        impl LineSink for Refuse {
            fn line(&mut self, _: &str, _: Option<u64>, _: &[u8]) -> io::Result<()> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
            }
        }
        let mut engine = Engine::new(&["a".into()], &GrepFlags::default()).unwrap();
        let err = engine
            .search_slice(TEXT.as_bytes(), "f", &mut Refuse)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
