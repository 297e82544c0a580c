//! The `rumor` binary: see `rumor --help` and crates/daemon/README.md.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use rumor_daemon::cli::{Cli, Command};
use rumor_daemon::{
    DaemonError, agent, bench, commands, completions, control, demo, keys_cli,
    settings::AgentSettings,
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            // clap's first line says what is wrong; the usage block after it is noise here.
            let text = e.render().to_string();
            let line = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("bad command line");
            let line = line.trim_start_matches("error: ");
            eprintln!("rumor: {line} (see rumor --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rumor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), DaemonError> {
    match cli.command {
        Command::Agent(args) => {
            let settings = AgentSettings::from_args(&args)?;
            if args.check_config {
                agent::check(&settings)?;
                print!("{}", settings.to_toml());
                return Ok(());
            }
            agent::run(settings)
        }
        Command::Members(args) => commands::members(&args),
        Command::Monitor(args) => commands::monitor(&args),
        Command::Info(args) => commands::info(&args),
        Command::Join(args) => commands::join(&args),
        Command::ForceLeave(args) => commands::force_leave(&args),
        Command::Why(args) => commands::why(&args),
        Command::Broadcast(args) => commands::broadcast(&args),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { dir } => {
            for page in completions::man_pages(&dir)? {
                println!("{}", page.display());
            }
            Ok(())
        }
        Command::Leave(args) => {
            let sealer = control::client_sealer(&args.keys)?;
            let node = control::request_leave(args.agent, sealer.as_deref(), args.timeout)?;
            println!("{node} is leaving the cluster");
            Ok(())
        }
        Command::Keys(args) => keys_cli::run(&args),
        Command::Keygen => {
            let key = rumor_seal::generate_key()
                .map_err(|e| DaemonError::Usage(format!("cannot make a key: {e}")))?;
            println!("{}", key.to_base64());
            Ok(())
        }
        Command::Demo(args) => demo::run(&args),
        Command::BenchDetect(args) => bench::detect(&args),
        Command::BenchResources(args) => bench::resources(&args),
        Command::BenchFlood(args) => bench::flood(&args),
        Command::BenchScale(args) => bench::scale(&args),
    }
}
