//! The compiled patterns of a query: what agents search with, and what the
//! client checks a query with before sending it and matches received lines
//! with (for `-o`, `--color` and telling context lines from selected ones).
//!
//! Both ends build the matcher here, from the same translated patterns and
//! flags, so a pattern the client accepts is one every agent of this build
//! accepts, and the client's matches are the agents'.

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use rumor_wire::GrepFlags;

use crate::DgrepError;

/// The most memory a compiled pattern may take; larger ones are refused.
const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// A Rust regex that matches nothing: what an empty pattern list (`-f
/// /dev/null`) stands for, so that `-v` still selects every line, as in grep.
pub const NEVER: &str = r"[^\x00-\x{10FFFF}]";

/// Patterns (a line is selected if any matches) compiled under grep flags.
#[derive(Debug, Clone)]
pub struct LineMatcher {
    regex: RegexMatcher,
}

impl LineMatcher {
    /// Compiles `patterns`, in the Rust regex syntax (or fixed strings with
    /// `flags.fixed_strings`), under `flags`' `-i -F -w -x`. A pattern holding
    /// a newline counts as one pattern per line, as in grep. An error is one
    /// line of text.
    pub fn new(patterns: &[String], flags: &GrepFlags) -> Result<LineMatcher, DgrepError> {
        let split: Vec<&str> = patterns.iter().flat_map(|p| p.split('\n')).collect();
        if split.is_empty() {
            return Err(DgrepError::BadPattern("no pattern given".into()));
        }
        let regex = RegexMatcherBuilder::new()
            .case_insensitive(flags.ignore_case)
            .fixed_strings(flags.fixed_strings)
            .word(flags.word)
            .whole_line(flags.line)
            .line_terminator(Some(b'\n'))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build_many(&split)
            .map_err(|e| DgrepError::BadPattern(one_line(&e.to_string())))?;
        Ok(LineMatcher { regex })
    }

    /// Checks the client's patterns before anything is sent: compiles
    /// `translated` as the agents will, and on failure names the pattern as
    /// the user wrote it (`given[i]` for `translated[i]`), in one line.
    pub fn check(
        given: &[String],
        translated: &[String],
        flags: &GrepFlags,
    ) -> Result<LineMatcher, DgrepError> {
        LineMatcher::new(translated, flags).map_err(|all| {
            // Compiling alone is only needed to name the culprit; a set that
            // fails only as a whole (its size) is reported as the set.
            given
                .iter()
                .zip(translated)
                .find_map(
                    |(given, one)| match LineMatcher::new(std::slice::from_ref(one), flags) {
                        Err(DgrepError::BadPattern(why)) => {
                            Some(DgrepError::BadPattern(format!("{given:?}: {why}")))
                        }
                        _ => None,
                    },
                )
                .unwrap_or(all)
        })
    }

    /// The matcher the searcher runs.
    pub(crate) fn regex(&self) -> &RegexMatcher {
        &self.regex
    }

    /// True if `line` (without its terminator) holds a match.
    pub fn is_match(&self, line: &[u8]) -> bool {
        // The regex matcher's errors are of type `NoError`: it cannot fail.
        self.regex.is_match(line).unwrap_or(false)
    }

    /// Calls `found(start, end)` for every non-empty match in `line`, left
    /// to right, as grep's `-o` and `--color` see them (an empty match shows
    /// nothing and is skipped). Alternatives are tried in order at each
    /// position (leftmost-first), where POSIX takes the longest: `-e x -e
    /// 'x a'` shows `x` where grep shows `x a`.
    pub fn for_each_match(&self, line: &[u8], mut found: impl FnMut(usize, usize)) {
        let _ = self.regex.find_iter(line, |m| {
            if !m.is_empty() {
                found(m.start(), m.end());
            }
            true
        });
    }
}

/// A regex error in one line: the library's message shows the pattern
/// (translated, which the user never wrote) over several lines, with a caret
/// diagram, then `error: WHAT`; only WHAT is kept.
fn one_line(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .or_else(|| message.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("invalid pattern")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(patterns: &[&str], flags: GrepFlags, line: &str) -> Vec<String> {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let m = LineMatcher::new(&patterns, &flags).unwrap();
        let mut out = Vec::new();
        m.for_each_match(line.as_bytes(), |s, e| out.push(line[s..e].to_owned()));
        out
    }

    #[test]
    fn finds_non_empty_matches_in_order() {
        let f = GrepFlags::default();
        assert_eq!(matches(&["a*"], f.clone(), "xx aa xa"), ["aa", "a"]);
        assert_eq!(matches(&["^x"], f.clone(), "xxx"), ["x"]);
        let mut w = GrepFlags::default();
        w.word = true;
        assert_eq!(matches(&["a"], w, "a ab a"), ["a", "a"]);
        let mut i = GrepFlags::default();
        i.ignore_case = true;
        assert_eq!(matches(&["ab", "c"], i, "xABcAb"), ["AB", "c", "Ab"]);
    }

    #[test]
    fn never_matches_anything() {
        let m = LineMatcher::new(&[NEVER.into()], &GrepFlags::default()).unwrap();
        assert!(!m.is_match(b""));
        assert!(!m.is_match("any line at all \u{10FFFF}".as_bytes()));
    }

    #[test]
    fn errors_are_one_line_and_name_the_given_pattern() {
        let flags = GrepFlags::default();
        let given = vec!["ok".to_string(), "a(b".to_string()];
        let err = LineMatcher::check(&given, &given, &flags)
            .unwrap_err()
            .to_string();
        assert_eq!(err, r#"bad pattern: "a(b": unclosed group"#);
        let huge = vec!["(a{1000}){1000}".to_string()];
        let err = LineMatcher::check(&huge, &huge, &flags)
            .unwrap_err()
            .to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("size limit"), "{err}");
    }
}
