//! Writes a synthetic cluster history as per-node `events.jsonl` files.
//!
//! ```text
//! cargo run --release -p rumor-viz --example synthetic_log -- DIR [MEMBERS OBSERVERS CRASHES LEAVES EVENTS SEED]
//! ```
//! The defaults (1000 60 100 50 100000 1) are the benchmark replay of the README.

use std::path::PathBuf;

use rumor_viz::synthetic::SyntheticCluster;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: synthetic_log DIR [MEMBERS OBSERVERS CRASHES LEAVES EVENTS SEED]")?,
    );
    let mut number = |default: u64| -> Result<u64, Box<dyn std::error::Error>> {
        Ok(match args.next() {
            Some(text) => text.parse()?,
            None => default,
        })
    };
    let cluster = SyntheticCluster {
        members: number(1000)? as usize,
        observers: number(60)? as usize,
        crashes: number(100)? as usize,
        leaves: number(50)? as usize,
        events: number(100_000)? as usize,
        seed: number(1)?,
    };
    let written = cluster.write_logs(&dir)?;
    println!(
        "{written} events from {} observers about {} members in {}",
        cluster.observers,
        cluster.members,
        dir.display()
    );
    Ok(())
}
