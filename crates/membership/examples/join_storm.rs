//! N nodes join at the same instant (through node 0, the first introducer),
//! at 5 % receiver-side drop; prints, second by second, the fewest members
//! any node knows, until every node knows every other. The cluster is the
//! simulator's in-memory harness (`rumor_sim::Cluster`).
//!
//! `cargo run --release -p rumor-membership --example join_storm [-- N DETECTOR]`

use std::time::{Duration, Instant};

use rumor_membership::DetectorRegistry;
use rumor_sim::{Cluster, RunOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let detector = args.next().unwrap_or_else(|| "swim".to_string());
    let wall = Instant::now();
    let registry = DetectorRegistry::with_builtins();
    let mut cluster = Cluster::builder(n)
        .detector(&detector)
        .loss(0.05)
        .join_window(Duration::ZERO)
        // n² joined events are not worth keeping.
        .options(RunOptions::default())
        .build(&registry)
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes_sent = |cluster: &Cluster| -> u64 {
        (0..n)
            .filter_map(|i| cluster.core(i))
            .map(|core| core.stats().bytes_sent)
            .sum()
    };
    for second in 1..=120 {
        let bytes_before = bytes_sent(&cluster);
        cluster.run_for(Duration::from_secs(1));
        let bytes_after = bytes_sent(&cluster);
        let fewest = (0..n).map(|i| cluster.live_count(i)).min().unwrap_or(0);
        println!(
            "t={second:>3}s  fewest known {fewest:>6} of {n}  bytes/s per node {:>6}  false+ {}",
            (bytes_after - bytes_before) / n as u64,
            cluster.stats().false_positives
        );
        if fewest == n {
            break;
        }
    }
    println!("wall {:?}", wall.elapsed());
}
