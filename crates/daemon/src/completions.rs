//! `rumor completions SHELL` and `rumor man --dir DIR`: shell completions
//! and man pages generated from the same clap definitions the binary
//! parses with (`clap_complete`, `clap_mangen`), so they never drift.

use std::path::Path;

use clap::CommandFactory;

use crate::DaemonError;
use crate::cli::Cli;

/// Writes the completion script of `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<(), DaemonError> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "rumor", &mut std::io::stdout());
    Ok(())
}

/// Writes `rumor.1` and `rumor-SUBCOMMAND.1` for every subcommand into
/// `dir` (created if missing); returns the files written.
pub fn man_pages(dir: &Path) -> Result<Vec<std::path::PathBuf>, DaemonError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| DaemonError::io(format!("cannot create {}", dir.display()), e))?;
    let command = Cli::command();
    let mut written = Vec::new();
    let mut write = |name: String, cmd: clap::Command| -> Result<(), DaemonError> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.name(name.clone()))
            .render(&mut buf)
            .map_err(|e| DaemonError::io("cannot render a man page", e))?;
        std::fs::write(&path, buf)
            .map_err(|e| DaemonError::io(format!("cannot write {}", path.display()), e))?;
        written.push(path);
        Ok(())
    };
    for sub in command.get_subcommands() {
        write(format!("rumor-{}", sub.get_name()), sub.clone())?;
    }
    write("rumor".to_string(), command.clone())?;
    Ok(written)
}
