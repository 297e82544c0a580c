//! `rumor-sim-all-to-all`: the simulator's command line (`rumor-sim`, every
//! flag and subcommand) with the all-to-all detector registered beside the
//! core's built-ins, so `--detector all-to-all` and sweeps over it work:
//!
//! ```sh
//! cargo run --release -p rumor-example-all-to-all --bin rumor-sim-all-to-all -- \
//!     --nodes 10 --detector all-to-all --fail 1 --seeds 20
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut registry = rumor_sim::registry();
    rumor_example_all_to_all::register(&mut registry);
    rumor_sim::cli_main(&registry)
}
