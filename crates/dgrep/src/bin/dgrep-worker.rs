//! `dgrep-worker`: the process a rumor agent hands its dgrep searches to, so
//! that files can be memory-mapped without risking the agent (see
//! `rumor_dgrep::worker`). Not meant to be run by hand: it reads requests on
//! stdin and writes tagged answer frames on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rumor_dgrep::{ServeConfig, worker};

/// Search worker of a rumor agent (started by the agent, not by hand).
#[derive(Debug, Parser)]
#[command(name = "dgrep-worker", version)]
struct Args {
    /// The agent's data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// The agent's --grep-path globs.
    #[arg(long)]
    grep_path: Vec<String>,
    /// Largest total size of a request's patterns, in bytes.
    #[arg(long)]
    max_pattern_bytes: usize,
    /// Most patterns in one request.
    #[arg(long)]
    max_patterns: usize,
    /// Target size of one result chunk, in bytes.
    #[arg(long)]
    chunk_bytes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = ServeConfig {
        globs: args.grep_path,
        data_dir: args.data_dir,
        max_pattern_bytes: args.max_pattern_bytes,
        max_patterns: args.max_patterns,
        chunk_bytes: args.chunk_bytes,
    };
    match worker::run(&config, std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dgrep-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
