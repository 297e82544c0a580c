//! N nodes join one introducer at the same instant, at 5 % receiver-side
//! drop; prints, second by second, the fewest members any node knows, until
//! every node knows every other.
//!
//! `cargo run --release -p rumor-membership --example join_storm [-- N DETECTOR]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Cluster;
use rumor_membership::Config;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let detector = args.next().unwrap_or_else(|| "swim".to_string());
    let wall = Instant::now();
    let mut cluster = Cluster::with_config(0, &detector, 0.05, 1, Config::default());
    cluster.keep_joined = false;
    for i in 0..n {
        cluster.spawn(i, 1);
        if i > 0 {
            cluster.join(i, 0);
        }
    }
    for second in 1..=120 {
        let bytes_before: u64 = cluster
            .nodes
            .iter()
            .map(|x| x.core.stats().bytes_sent)
            .sum();
        cluster.run_for(Duration::from_secs(1));
        let bytes_after: u64 = cluster
            .nodes
            .iter()
            .map(|x| x.core.stats().bytes_sent)
            .sum();
        let fewest = cluster
            .nodes
            .iter()
            .map(|x| x.core.live_count())
            .min()
            .unwrap_or(0);
        println!(
            "t={second:>3}s  fewest known {fewest:>6} of {n}  bytes/s per node {:>6}  false+ {}",
            (bytes_after - bytes_before) / n as u64,
            cluster.false_positives().len()
        );
        if fewest == n {
            break;
        }
    }
    println!("wall {:?}", wall.elapsed());
}
