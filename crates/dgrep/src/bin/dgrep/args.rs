//! dgrep's command line, and what it makes of it: the request every member
//! is sent, the matcher the client checks it with, and how to print.

use std::io::{self, IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};
use rumor_dgrep::colour::When;
use rumor_dgrep::members::MemberFilter;
use rumor_dgrep::output::{Mode, OutputOptions};
use rumor_dgrep::posix::{Syntax, to_rust};
use rumor_dgrep::report::Messages;
use rumor_dgrep::{LineMatcher, NEVER};
use rumor_wire::GrepFlags;

const EXIT_STATUS: &str = "\
Output: each line starts with the member (IP:PORT#VERSION), then what grep
prints over several files, with a space before the line's text:
  MEMBER agent.log:42: text   (-n)     MEMBER agent.log-43- text (context)
  MEMBER --  (between groups)          MEMBER agent.log:7 (-c)
A per-node summary and the total go to stderr (not with -q).

Exit status:
  0  a line was selected and every member answered (with -q: a line was
     selected, whatever else happened)
  1  every member answered and no line was selected
  2  an error: bad usage, an invalid pattern (reported before anything is
     sent), no member list, or a member reported an error (a file it could
     not read or would not serve, a request over its limits)
  3  partial result: some members did not answer within --timeout, could
     not be reached, broke off their answer, or (--members) are not live;
     they are named on stderr and the others' lines were printed

Each agent searches only the files its --grep-path globs name (by default its
own agent.log and events.jsonl); dgrep takes no FILE arguments. Each member
answers on the connection dgrep opened to it; a keyed cluster (agents with
--keyring) answers only requests sealed under its keyring: give dgrep the
same --keyring (and --cluster-label, if not the default).";

/// Search the logs of every live member of a rumor cluster, like grep.
///
/// Lines are printed as they arrive (or merged by time with --sort time),
/// prefixed with the member and file: `127.0.0.2:4000#1763899990001
/// agent.log:42: text` (the line number only with -n).
#[derive(Debug, Parser)]
#[command(
    name = "dgrep",
    version,
    after_help = EXIT_STATUS,
    // -h is grep's --no-filename; help is --help only, as in grep.
    disable_help_flag = true
)]
pub struct Args {
    /// Ignore case distinctions in patterns and data.
    #[arg(short = 'i', long)]
    ignore_case: bool,
    /// Select non-matching lines.
    #[arg(short = 'v', long)]
    invert_match: bool,
    /// Print only a count of selected lines per member and file.
    #[arg(short = 'c', long)]
    count: bool,
    /// Prefix each line with its 1-based line number in its file.
    #[arg(short = 'n', long)]
    line_number: bool,
    /// PATTERNS are fixed strings, not regular expressions.
    #[arg(short = 'F', long, conflicts_with = "extended_regexp")]
    fixed_strings: bool,
    /// PATTERNS are extended regular expressions (default: basic, as grep).
    #[arg(short = 'E', long)]
    extended_regexp: bool,
    /// Match only whole words.
    #[arg(short = 'w', long)]
    word_regexp: bool,
    /// Match only whole lines.
    #[arg(short = 'x', long)]
    line_regexp: bool,
    /// Stop after NUM selected lines per file.
    #[arg(short = 'm', long, value_name = "NUM")]
    max_count: Option<u64>,
    /// A pattern; repeat for several (a line is selected if any matches).
    #[arg(
        short = 'e',
        long = "regexp",
        value_name = "PATTERN",
        allow_hyphen_values = true
    )]
    regexp: Vec<String>,
    /// Read patterns from FILE, one per line (`-` for stdin); an empty file
    /// selects nothing.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pattern_files: Vec<PathBuf>,
    /// Print the file name before each line (the default: every member may
    /// serve several files).
    #[arg(short = 'H', long, overrides_with = "no_filename")]
    with_filename: bool,
    /// Do not print file names (the member is still printed).
    #[arg(short = 'h', long, overrides_with = "with_filename")]
    no_filename: bool,
    /// Print only the names of files with a selected line.
    #[arg(short = 'l', long, overrides_with = "files_without_match")]
    files_with_matches: bool,
    /// Print only the names of files without a selected line.
    #[arg(short = 'L', long, overrides_with = "files_with_matches")]
    files_without_match: bool,
    /// Print only the matched parts of selected lines, each on its own line.
    #[arg(short = 'o', long)]
    only_matching: bool,
    /// Print nothing; exit 0 as soon as a line is selected.
    #[arg(short = 'q', long, visible_alias = "silent")]
    quiet: bool,
    /// Do not report members' errors and members that did not answer (the
    /// exit status still tells).
    #[arg(short = 's', long)]
    no_messages: bool,
    /// Print NUM lines of context after each selected line.
    #[arg(short = 'A', long, value_name = "NUM")]
    after_context: Option<u64>,
    /// Print NUM lines of context before each selected line.
    #[arg(short = 'B', long, value_name = "NUM")]
    before_context: Option<u64>,
    /// Print NUM lines of context around each selected line.
    #[arg(short = 'C', long, value_name = "NUM")]
    context: Option<u64>,
    /// Colour matches, file names, line numbers and separators as grep
    /// does; auto: when stdout is a terminal and NO_COLOR is not set.
    #[arg(
        long = "color",
        visible_alias = "colour",
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "auto"
    )]
    color: Option<ColorArg>,
    /// Ask only these members: IP:PORT#VERSION, IP:PORT, or IP (every
    /// member on that host), or TAG=VALUE (members whose tag, from
    /// `rumor agent --tag`, has that value); repeat or separate with commas.
    #[arg(long, value_name = "NAME")]
    members: Vec<String>,
    /// Order of the lines: as they arrive, or merged across members by the
    /// "ts_ms" stamp of event lines (unstamped lines after, member by
    /// member).
    #[arg(long, value_name = "ORDER", default_value = "arrival")]
    sort: SortArg,
    /// The agent to ask for the member list.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:3000")]
    agent: SocketAddr,
    /// The cluster's keyring, when it has one: one base64 key per line, as
    /// the agents were given; requests are sealed under it and answers
    /// opened with it [env: RUMOR_KEYRING].
    #[arg(long, value_name = "FILE", env = "RUMOR_KEYRING")]
    keyring: Option<PathBuf>,
    /// The cluster's name (with --keyring), as the agents were given.
    #[arg(long, value_name = "NAME", default_value = rumor_seal::DEFAULT_LABEL)]
    cluster_label: String,
    /// How long to wait for every member's answer (e.g. 10s, 1500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// The pattern (unless -e or -f is given) and nothing else: FILE
    /// arguments are refused, since agents search only the files they serve.
    #[arg(value_name = "PATTERN")]
    rest: Vec<String>,
}

/// `--color=WHEN`, with grep's synonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    #[value(alias = "yes", alias = "force")]
    Always,
    #[value(alias = "no", alias = "none")]
    Never,
    #[value(alias = "tty", alias = "if-tty")]
    Auto,
}

/// `--sort ORDER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortArg {
    /// As members' answers arrive.
    Arrival,
    /// By the events' `"ts_ms"` stamps, across members.
    Time,
}

/// Everything a query needs, worked out before anything is sent.
pub struct Plan {
    /// The patterns as members compile them (translated from POSIX).
    pub patterns: Vec<String>,
    /// The flags members are sent.
    pub flags: GrepFlags,
    /// The same query, compiled here.
    pub matcher: LineMatcher,
    /// How answers are printed.
    pub output: OutputOptions,
    /// What goes to stderr.
    pub messages: Messages,
    /// `--members`, if given.
    pub members: Option<MemberFilter>,
    /// `--sort time`.
    pub by_time: bool,
    /// `--agent`.
    pub agent: SocketAddr,
    /// `--keyring`.
    pub keyring: Option<PathBuf>,
    /// `--cluster-label`.
    pub cluster_label: String,
    /// `--timeout`.
    pub timeout: Duration,
}

impl Args {
    /// Checks the command line and the patterns (compiled as the members
    /// will compile them) and works out the query; an error is one line.
    pub fn plan(self) -> Result<Plan, String> {
        let (given, files) = self.patterns()?;
        if !files.is_empty() {
            return Err(format!(
                "this command takes no FILE arguments (got {files:?}): each agent searches only \
                 the files its --grep-path globs name"
            ));
        }
        let members = MemberFilter::parse(&self.members).map_err(|e| e.to_string())?;
        let mode = if self.quiet {
            Mode::Quiet
        } else if self.files_with_matches {
            Mode::FilesWithMatches
        } else if self.files_without_match {
            Mode::FilesWithoutMatch
        } else if self.count {
            Mode::Count
        } else {
            Mode::Lines
        };
        // As grep: -A and -B override -C for their side.
        let context_given = [self.after_context, self.before_context, self.context]
            .iter()
            .any(Option::is_some);
        let before = self.before_context.or(self.context).unwrap_or(0);
        let after = self.after_context.or(self.context).unwrap_or(0);
        let context = context_given && mode == Mode::Lines;
        let by_time = self.sort == SortArg::Time;
        if by_time && context {
            return Err(
                "--sort time cannot be combined with -A, -B or -C: groups of context \
                        lines have no place in a timeline"
                    .into(),
            );
        }
        // An empty pattern list (-f /dev/null) matches nothing, as in grep.
        let fixed = self.fixed_strings && !given.is_empty();
        let patterns = if given.is_empty() {
            vec![NEVER.to_owned()]
        } else if fixed {
            given.clone()
        } else {
            let syntax = if self.extended_regexp {
                Syntax::Extended
            } else {
                Syntax::Basic
            };
            given
                .iter()
                .map(|p| to_rust(p, syntax))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
        };
        let mut flags = GrepFlags::default();
        flags.ignore_case = self.ignore_case;
        flags.invert = self.invert_match;
        flags.count = mode.counts_only();
        // Context needs the numbers to tell where a group ends.
        flags.line_number = self.line_number || context;
        flags.fixed_strings = fixed;
        flags.word = self.word_regexp;
        flags.line = self.line_regexp;
        // -l, -L and -q need only know whether a file has a line.
        flags.max_count = match mode {
            Mode::Quiet | Mode::FilesWithMatches | Mode::FilesWithoutMatch => {
                Some(self.max_count.map_or(1, |m| m.min(1)))
            }
            Mode::Lines | Mode::Count => self.max_count,
        };
        flags.context = (context && (before, after) != (0, 0)).then_some((before, after));
        let matcher = LineMatcher::check(&given, &patterns, &flags).map_err(|e| e.to_string())?;
        let when = match self.color {
            None | Some(ColorArg::Never) => When::Never,
            Some(ColorArg::Always) => When::Always,
            Some(ColorArg::Auto) => When::Auto,
        };
        let output = OutputOptions {
            mode,
            file_names: !self.no_filename,
            line_numbers: self.line_number,
            only_matching: self.only_matching,
            context,
            max_count: self.max_count,
            invert: self.invert_match,
            colour: when.colour(io::stdout().is_terminal(), |k| std::env::var(k).ok()),
        };
        let messages = Messages {
            summary: !self.quiet,
            problems: !self.no_messages,
            progress: !self.quiet && io::stderr().is_terminal(),
        };
        Ok(Plan {
            patterns,
            flags,
            matcher,
            output,
            messages,
            members,
            by_time,
            agent: self.agent,
            keyring: self.keyring,
            cluster_label: self.cluster_label,
            timeout: self.timeout,
        })
    }

    /// The patterns as given (one per line of each -e, -f file or the
    /// PATTERN argument), and the arguments left over.
    fn patterns(&self) -> Result<(Vec<String>, Vec<String>), String> {
        let mut given: Vec<String> = Vec::new();
        for pattern in &self.regexp {
            given.extend(pattern.split('\n').map(str::to_owned));
        }
        for file in &self.pattern_files {
            let text = read_patterns(file)?;
            // One pattern per line, the last line's newline ending it: an
            // empty file holds none, a file of one newline the empty one.
            if !text.is_empty() {
                let text = text.strip_suffix('\n').unwrap_or(&text);
                given.extend(text.split('\n').map(str::to_owned));
            }
        }
        if !self.regexp.is_empty() || !self.pattern_files.is_empty() {
            return Ok((given, self.rest.clone()));
        }
        match self.rest.split_first() {
            Some((pattern, files)) => Ok((
                pattern.split('\n').map(str::to_owned).collect(),
                files.to_vec(),
            )),
            None => Err("no PATTERN given (see dgrep --help)".into()),
        }
    }
}

/// A pattern file's text (`-` is stdin).
fn read_patterns(file: &PathBuf) -> Result<String, String> {
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("{}: {e}", file.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: patterns are not UTF-8", file.display()))
}
