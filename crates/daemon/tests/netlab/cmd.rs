//! Running `ip` and `nft`, every failure as one line naming the command.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `argv`, with `input` on its standard input when given, and returns
/// its standard output; on failure, one line with the command, its status
/// and its standard error.
pub fn run(argv: &[&str], input: Option<&str>) -> Result<String, String> {
    let shown = match input {
        Some(text) => format!("{} <<< {:?}", argv.join(" "), text),
        None => argv.join(" "),
    };
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{shown}` cannot start: {e}"))?;
    if let Some(text) = input {
        // Dropping the handle at the end of this block closes the pipe, so
        // the command sees the end of its script.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("`{shown}`: cannot write its input: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{shown}`: cannot wait for it: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            stderr.trim().replace('\n', "; ")
        ))
    }
}

/// As [`run`], panicking with that line on failure: for faults a test asked
/// for, where carrying on would judge a network that is not the one intended.
pub fn must(argv: &[&str], input: Option<&str>) -> String {
    run(argv, input).unwrap_or_else(|why| panic!("{why}"))
}
