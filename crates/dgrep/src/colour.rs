//! `--color`: when to colour, and grep's colours.
//!
//! The colours and their escape sequences are GNU grep's defaults (its
//! `GREP_COLORS` unset: `ms=01;31:mc=01;31:sl=:cx=:fn=35:ln=32:bn=32:se=36`),
//! byte for byte, so that tools reading coloured grep output read dgrep's.
//! `GREP_COLORS` itself is not read. The member prefix stays uncoloured.

use std::io::{self, Write};

/// `--color=WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum When {
    /// Colour only when stdout is a terminal (and `TERM` is set and not
    /// `dumb`, as grep asks), unless `NO_COLOR` is set to something.
    #[default]
    Auto,
    /// Always colour (an explicit choice: `NO_COLOR` does not override it).
    Always,
    /// Never colour.
    Never,
}

impl When {
    /// Whether to colour, given whether stdout is a terminal and the
    /// environment (`TERM`, `NO_COLOR`) as `var` reads it.
    pub fn colour(self, stdout_is_terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            When::Always => true,
            When::Never => false,
            When::Auto => {
                let no_color = var("NO_COLOR").is_some_and(|v| !v.is_empty());
                let term = var("TERM").is_some_and(|t| !t.is_empty() && t != "dumb");
                stdout_is_terminal && term && !no_color
            }
        }
    }
}

/// What is being coloured; each maps to one of grep's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `ms`: matched text in a selected line.
    SelectedMatch,
    /// `mc`: matched text in a context line.
    ContextMatch,
    /// `fn`: a file name.
    FileName,
    /// `ln`: a line number.
    LineNumber,
    /// `se`: the `:`/`-` separators and the `--` between groups.
    Separator,
}

impl Part {
    /// grep's default SGR parameters for this part.
    fn sgr(self) -> &'static [u8] {
        match self {
            Part::SelectedMatch | Part::ContextMatch => b"01;31",
            Part::FileName => b"35",
            Part::LineNumber => b"32",
            Part::Separator => b"36",
        }
    }
}

/// Writes `text` coloured as `part`, exactly as grep does: the SGR start,
/// an erase-to-end-of-line (so a background colour does not spill on a
/// wrapped line), the text, and the reset with its own erase.
pub fn paint(out: &mut impl Write, part: Part, text: &[u8]) -> io::Result<()> {
    out.write_all(b"\x1b[")?;
    out.write_all(part.sgr())?;
    out.write_all(b"m\x1b[K")?;
    out.write_all(text)?;
    out.write_all(b"\x1b[m\x1b[K")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_as_grep() {
        let mut out = Vec::new();
        paint(&mut out, Part::FileName, b"agent.log").unwrap();
        paint(&mut out, Part::Separator, b":").unwrap();
        paint(&mut out, Part::SelectedMatch, b"ERROR").unwrap();
        assert_eq!(
            out,
            b"\x1b[35m\x1b[Kagent.log\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[K\
              \x1b[01;31m\x1b[KERROR\x1b[m\x1b[K"
        );
    }

    #[test]
    fn auto_asks_for_a_terminal_and_heeds_no_color() {
        let env = |no_color: Option<&'static str>, term: Option<&'static str>| {
            move |name: &str| match name {
                "NO_COLOR" => no_color.map(str::to_owned),
                "TERM" => term.map(str::to_owned),
                _ => None,
            }
        };
        assert!(When::Auto.colour(true, env(None, Some("xterm"))));
        assert!(When::Auto.colour(true, env(Some(""), Some("xterm"))));
        assert!(!When::Auto.colour(false, env(None, Some("xterm"))));
        assert!(!When::Auto.colour(true, env(Some("1"), Some("xterm"))));
        assert!(!When::Auto.colour(true, env(None, Some("dumb"))));
        assert!(!When::Auto.colour(true, env(None, None)));
        assert!(When::Always.colour(false, env(Some("1"), None)));
        assert!(!When::Never.colour(true, env(None, Some("xterm"))));
    }
}
