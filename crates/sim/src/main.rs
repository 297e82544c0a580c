//! `rumor-sim`: the simulator's command line, with the core's built-in
//! detectors ([`rumor_sim::registry`]).

use std::process::ExitCode;

/// mimalloc: n² small member lists and the churn of datagrams in flight
/// run faster on it than on the system allocator (README.md has the figures);
/// with `MIMALLOC_ALLOW_LARGE_OS_PAGES=1` it also backs them with huge pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    rumor_sim::cli_main(&rumor_sim::registry())
}
