//! grep's POSIX pattern syntax, translated to the Rust regex syntax the
//! engine speaks.
//!
//! dgrep reads patterns as grep does: basic regular expressions (BRE) by
//! default, extended ones (ERE) with `-E`, fixed strings with `-F`. The
//! request carries the translated pattern, so every agent compiles the same
//! thing. What has no linear-time equivalent (back-references) is refused.

use crate::DgrepError;

/// Which grep syntax a pattern is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// grep's default: `\(`, `\{`, `\|`, `\+`, `\?` are operators.
    Basic,
    /// `grep -E`: `(`, `{`, `|`, `+`, `?` are operators.
    Extended,
}

/// Translates one POSIX `pattern` to the Rust regex syntax.
///
/// ```
/// use rumor_dgrep::posix::{to_rust, Syntax};
/// assert_eq!(to_rust(r"a\(b\|c\)+", Syntax::Basic).unwrap(), r"a(b|c)\+");
/// assert_eq!(to_rust(r"[]x\]", Syntax::Extended).unwrap(), r"[\]x\\]");
/// ```
pub fn to_rust(pattern: &str, syntax: Syntax) -> Result<String, DgrepError> {
    let fail = |why| DgrepError::Posix {
        pattern: pattern.to_owned(),
        why,
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // True where a `*` would have nothing to repeat (start, after a group
    // opening or an alternation): grep reads it as a literal star there.
    let mut at_start = true;
    while i < chars.len() {
        let c = chars[i];
        let was_start = at_start;
        at_start = false;
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(fail("trailing backslash"));
                };
                i += 1;
                match (next, syntax) {
                    ('(' | '|', Syntax::Basic) => {
                        out.push(next);
                        at_start = true;
                    }
                    (')' | '{' | '}' | '+' | '?', Syntax::Basic) => out.push(next),
                    ('1'..='9', _) => return Err(fail("back-references are not supported")),
                    ('`', _) => out.push_str(r"\A"),
                    ('\'', _) => out.push_str(r"\z"),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' => i = bracket(&chars, i, &mut out).map_err(fail)?,
            '(' | ')' | '{' | '}' | '|' | '+' | '?' if syntax == Syntax::Basic => {
                out.push('\\');
                out.push(c);
            }
            '(' | '|' => {
                out.push(c);
                at_start = true;
            }
            '*' if was_start => out.push_str(r"\*"),
            '^' if syntax == Syntax::Basic && !was_start => out.push_str(r"\^"),
            '^' => {
                out.push(c);
                at_start = true;
            }
            '$' if syntax == Syntax::Basic && !ends_group(&chars, i + 1) => out.push_str(r"\$"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// True if a BRE `$` at `at` is an anchor: at the end, or before `\)`/`\|`.
fn ends_group(chars: &[char], at: usize) -> bool {
    matches!(chars.get(at..), Some([]) | Some(['\\', ')' | '|', ..]))
}

/// The character classes POSIX names (`[[:alpha:]]`); Rust knows the same.
const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

/// Copies the bracket expression opening at `start`, escaping what is
/// literal in POSIX but special in Rust classes; returns the index of its
/// closing `]`, or why it cannot be translated (not closed, a class name
/// POSIX does not know, which Rust would read as a set of letters).
fn bracket(chars: &[char], start: usize, out: &mut String) -> Result<usize, &'static str> {
    out.push('[');
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out.push_str(r"\]");
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        match c {
            ']' => {
                out.push(']');
                return Ok(i);
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                    .ok_or("unmatched [")?;
                let name: String = chars[i + 2..close].iter().collect();
                if !CLASSES.contains(&name.as_str()) {
                    return Err("invalid character class name");
                }
                out.extend(&chars[i..=close + 1]);
                i = close + 1;
            }
            '[' if matches!(chars.get(i + 1), Some('=' | '.')) => {
                return Err("equivalence classes and collating symbols are not supported");
            }
            '\\' | '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' if out.ends_with('-') => out.push_str(r"\-"),
            _ => out.push(c),
        }
        i += 1;
    }
    Err("unmatched [")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(p: &str) -> String {
        to_rust(p, Syntax::Basic).unwrap()
    }

    fn extended(p: &str) -> String {
        to_rust(p, Syntax::Extended).unwrap()
    }

    #[test]
    fn basic_operators_and_literals() {
        assert_eq!(basic(r"a\{2,3\}"), "a{2,3}");
        assert_eq!(basic("a{2}|b+?"), r"a\{2\}\|b\+\?");
        assert_eq!(basic("*a"), r"\*a");
        assert_eq!(basic(r"\(*a\)"), r"(\*a)");
        assert_eq!(basic("a^b$c$"), r"a\^b\$c$");
        assert_eq!(basic(r"^\(a$\)"), r"^(a$)");
        assert_eq!(basic(r"x\.y\w"), r"x\.y\w");
    }

    #[test]
    fn extended_passes_operators() {
        assert_eq!(extended("(a|b)+c{2}"), "(a|b)+c{2}");
        assert_eq!(extended("*a"), r"\*a");
        assert_eq!(extended("^a$"), "^a$");
    }

    #[test]
    fn brackets() {
        assert_eq!(extended("[]a]"), r"[\]a]");
        assert_eq!(extended("[^]a]"), r"[^\]a]");
        assert_eq!(extended("[[:digit:]x]"), "[[:digit:]x]");
        assert_eq!(extended("[a&&b~~]"), r"[a\&\&b\~\~]");
        assert_eq!(basic(r"[(\)]"), r"[(\\)]");
    }

    #[test]
    fn refuses_what_cannot_translate() {
        assert!(to_rust(r"\(a\)\1", Syntax::Basic).is_err());
        assert!(to_rust("[abc", Syntax::Basic).is_err());
        assert!(to_rust("[[:nope:]]", Syntax::Basic).is_err());
        assert!(to_rust("[[:alpha:]", Syntax::Basic).is_err());
        assert!(to_rust("[[=a=]]", Syntax::Basic).is_err());
        assert!(to_rust("abc\\", Syntax::Extended).is_err());
    }
}
