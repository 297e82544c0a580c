//! `rumor-sim`: the simulator's command line.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use rumor_sim::Cli;

/// mimalloc: n² small member lists and the churn of datagrams in flight
/// run faster on it than on the system allocator (README.md has the figures);
/// with `MIMALLOC_ALLOW_LARGE_OS_PAGES=1` it also backs them with huge pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: the error itself, without clap's tips and usage block.
            let text = e.render().to_string();
            let line = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more"))
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("rumor-sim: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match cli.execute(&rumor_sim::registry()) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rumor-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
