//! `dgrep`: grep the logs of every live member of a rumor cluster.

use std::io::{self, BufWriter, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use rumor_dgrep::client::{fan_out, live_members};
use rumor_dgrep::posix::{Syntax, to_rust};
use rumor_dgrep::report::{Printer, Status};
use rumor_dgrep::{DgrepError, client_sealer};
use rumor_wire::{DgrepRequest, GrepFlags};

const EXIT_STATUS: &str = "\
Exit status:
  0  every member answered and some line was selected
  1  every member answered and no line was selected
  2  an error: bad usage, no member list, or a member reported an error
     (a pattern it rejects, a file it cannot read)
  3  partial result: some members did not answer within --timeout or could
     not be reached (they are named on stderr); the others' lines were printed

Each agent searches only the files its --grep-path globs name (by default its
own agent.log and events.jsonl); dgrep takes no FILE arguments. Each member
answers on the connection dgrep opened to it; a keyed cluster (agents with
--keyring) answers only requests sealed under its keyring: give dgrep the
same --keyring (and --cluster-label, if not the default).";

/// Search the logs of every live member of a rumor cluster, like grep.
///
/// Lines are printed as they arrive, prefixed with the member and file:
/// `127.0.0.2:4000#1763899990001 agent.log:42: text` (the line number only
/// with -n). A per-node summary and the total go to stderr.
#[derive(Debug, Parser)]
#[command(name = "dgrep", version, after_help = EXIT_STATUS)]
struct Args {
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
    /// The pattern (unless -e is given) and nothing else: FILE arguments are
    /// refused, since agents search only the files they serve.
    #[arg(value_name = "PATTERN")]
    rest: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(status) => ExitCode::from(status.code()),
        Err(message) => {
            eprintln!("dgrep: {message}");
            ExitCode::from(Status::Error.code())
        }
    }
}

fn run(args: Args) -> Result<Status, String> {
    let (patterns, files) = if args.regexp.is_empty() {
        match args.rest.split_first() {
            Some((pattern, files)) => (vec![pattern.clone()], files.to_vec()),
            None => return Err("no PATTERN given (see dgrep --help)".into()),
        }
    } else {
        (args.regexp.clone(), args.rest.clone())
    };
    if !files.is_empty() {
        return Err(format!(
            "this command takes no FILE arguments (got {files:?}): each agent searches only the \
             files its --grep-path globs name"
        ));
    }
    let syntax = if args.extended_regexp {
        Syntax::Extended
    } else {
        Syntax::Basic
    };
    let patterns = if args.fixed_strings {
        patterns
    } else {
        patterns
            .iter()
            .flat_map(|p| p.split('\n'))
            .map(|p| to_rust(p, syntax))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
    };
    let request = DgrepRequest {
        query: query_id(),
        patterns,
        flags: GrepFlags {
            ignore_case: args.ignore_case,
            invert: args.invert_match,
            count: args.count,
            line_number: args.line_number,
            fixed_strings: args.fixed_strings,
            word: args.word_regexp,
            line: args.line_regexp,
            max_count: args.max_count,
        },
    };
    let sealer =
        client_sealer(args.keyring.as_deref(), &args.cluster_label).map_err(|e| e.to_string())?;
    let members =
        live_members(args.agent, sealer.as_ref(), args.timeout).map_err(|e| e.to_string())?;
    let stdout = io::stdout().lock();
    let stderr = io::stderr();
    let progress = stderr.is_terminal();
    let mut printer = Printer::new(
        BufWriter::with_capacity(64 << 10, stdout),
        // Buffered: the summary is many small writes; progress draws flush.
        BufWriter::new(stderr.lock()),
        args.count,
        members.len(),
        progress,
    );
    let outcome = match fan_out(
        &members,
        &request,
        sealer.as_ref(),
        args.timeout,
        &mut |r| printer.reply(r),
    ) {
        Ok(outcome) => outcome,
        // stdout closed early (dgrep ... | head): stop quietly, as grep does.
        Err(DgrepError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(Status::Selected);
        }
        Err(e) => return Err(e.to_string()),
    };
    match printer.finish(&outcome) {
        Ok(status) => Ok(status),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Status::Selected),
        Err(e) => Err(e.to_string()),
    }
}

/// A query id unlikely to collide with another client's: time and process.
fn query_id() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}
