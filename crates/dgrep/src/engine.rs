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

use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use rumor_wire::GrepFlags;

use crate::{DgrepError, LineMatcher, LineSink};

/// The longest line the engine holds in memory; a file with a longer line
/// reports an error for that file.
pub const MAX_LINE_BYTES: usize = 8 << 20;

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
    matcher: LineMatcher,
    searcher: Searcher,
    count_only: bool,
    line_numbers: bool,
    max_count: Option<u64>,
    skip: bool,
}

impl Engine {
    /// Compiles `patterns` (a line is selected if any matches) under `flags`.
    ///
    /// A pattern holding a newline counts as one pattern per line, as in grep.
    /// With `flags.context`, the lines around each selected one are
    /// reported too, through [`LineSink::context`].
    pub fn new(patterns: &[String], flags: &GrepFlags) -> Result<Engine, DgrepError> {
        let matcher = LineMatcher::new(patterns, flags)?;
        let line_numbers = flags.line_number && !flags.count;
        let (before, after) = match flags.context {
            Some((before, after)) if !flags.count => (before, after),
            _ => (0, 0),
        };
        let lines = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let searcher = SearcherBuilder::new()
            .line_number(line_numbers)
            .invert_match(flags.invert)
            .max_matches(flags.max_count)
            .before_context(lines(before))
            .after_context(lines(after))
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
            max_count: flags.max_count,
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
            max_count: self.max_count.unwrap_or(u64::MAX),
            selected: 0,
            bytes: 0,
            sink_error: None,
        };
        let result = if self.skip {
            Ok(())
        } else {
            run(&mut self.searcher, self.matcher.regex(), &mut adapter)
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
    /// `-m`: lines selected past it are context (see `matched`).
    max_count: u64,
    selected: u64,
    bytes: u64,
    sink_error: Option<io::Error>,
}

impl Adapter<'_> {
    /// Hands one line to the sink; a sink failure stops the search.
    fn report(&mut self, context: bool, bytes: &[u8], number: Option<u64>) -> io::Result<bool> {
        let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let number = if self.line_numbers { number } else { None };
        let sent = if context {
            self.sink.context(self.name, number, text)
        } else {
            self.sink.line(self.name, number, text)
        };
        match sent {
            Ok(()) => Ok(true),
            Err(e) => {
                self.sink_error = Some(e);
                Err(io::Error::other("the result sink stopped"))
            }
        }
    }
}

impl Sink for Adapter<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, found: &SinkMatch<'_>) -> io::Result<bool> {
        // Past `-m`, the searcher still reports a matching line inside the
        // last one's after-context as a match; grep prints it as context
        // and does not count it.
        if self.selected >= self.max_count {
            if self.count_only {
                return Ok(true);
            }
            return self.report(true, found.bytes(), found.line_number());
        }
        self.selected += 1;
        if self.count_only {
            return Ok(true);
        }
        self.report(false, found.bytes(), found.line_number())
    }

    fn context(&mut self, _: &Searcher, context: &SinkContext<'_>) -> io::Result<bool> {
        self.report(true, context.bytes(), context.line_number())
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
        let mut inv = GrepFlags::default();
        inv.invert = true;
        assert_eq!(texts(&run(&["alpha"], inv, TEXT)), ["Beta two", "gamma"]);
        let mut count = GrepFlags::default();
        count.count = true;
        let c = run(&["a"], count, TEXT);
        assert!(c.lines.is_empty());
        assert_eq!(c.counts, [("f".to_string(), 4)]);
    }

    #[test]
    fn case_word_line_fixed_and_max_count() {
        let mut i = GrepFlags::default();
        i.ignore_case = true;
        assert_eq!(texts(&run(&["beta"], i, TEXT)), ["Beta two"]);
        let mut w = GrepFlags::default();
        w.word = true;
        assert_eq!(texts(&run(&["alpha"], w, TEXT)), ["alpha one"]);
        let mut x = GrepFlags::default();
        x.line = true;
        assert_eq!(texts(&run(&["gamma"], x.clone(), TEXT)), ["gamma"]);
        assert!(run(&["gam"], x, TEXT).lines.is_empty());
        let mut f = GrepFlags::default();
        f.fixed_strings = true;
        assert!(run(&["a.p"], f, TEXT).lines.is_empty());
        let mut m = GrepFlags::default();
        m.max_count = Some(1);
        assert_eq!(texts(&run(&["alpha"], m, TEXT)), ["alpha one"]);
        let mut m0 = GrepFlags::default();
        m0.max_count = Some(0);
        assert_eq!(run(&["alpha"], m0, TEXT).counts, [("f".to_string(), 0)]);
    }

    #[test]
    fn several_patterns_and_line_numbers() {
        let mut n = GrepFlags::default();
        n.line_number = true;
        let c = run(&["gamma", "two"], n, TEXT);
        let got: Vec<_> = c.lines.iter().map(|l| l.line_number).collect();
        assert_eq!(got, [Some(2), Some(4)]);
        assert_eq!(
            texts(&run(&["gamma\ntwo"], GrepFlags::default(), TEXT)).len(),
            2
        );
    }

    #[test]
    fn context_lines_and_the_context_after_max_count() {
        let text = "a1\nb2\na3\na4\nb5\nb6\nb7\na8\nb9\n";
        let kinds = |c: &Collector| -> Vec<String> {
            c.lines
                .iter()
                .map(|l| {
                    let sep = if l.context { '-' } else { ':' };
                    format!(
                        "{}{sep}{}",
                        l.line_number.unwrap(),
                        String::from_utf8_lossy(&l.text)
                    )
                })
                .collect()
        };
        let mut flags = GrepFlags::default();
        flags.line_number = true;
        flags.context = Some((1, 1));
        let c = run(&["a"], flags.clone(), text);
        assert_eq!(
            kinds(&c),
            [
                "1:a1", "2-b2", "3:a3", "4:a4", "5-b5", "7-b7", "8:a8", "9-b9"
            ]
        );
        assert_eq!(c.counts, [("f".to_string(), 4)]);
        // As grep -m2 -A3: the lines after the second selected one are
        // context, a4 included, and are not counted.
        flags.max_count = Some(2);
        flags.context = Some((0, 3));
        let c = run(&["a"], flags.clone(), text);
        assert_eq!(kinds(&c), ["1:a1", "2-b2", "3:a3", "4-a4", "5-b5", "6-b6"]);
        assert_eq!(c.counts, [("f".to_string(), 2)]);
        // Inverted: as grep -v -m1 -A2 b.
        flags.invert = true;
        flags.max_count = Some(1);
        flags.context = Some((0, 2));
        assert_eq!(kinds(&run(&["b"], flags, text)), ["1:a1", "2-b2", "3-a3"]);
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
