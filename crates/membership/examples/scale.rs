//! Runs one `swim` cluster of N nodes (default 1,000) at 5 % receiver-side
//! drop, crashes one node, and prints detection times, false positives and
//! bytes sent per node per second. The cluster is the simulator's in-memory
//! harness (`rumor_sim::Cluster`), every node starting with every other
//! alive in its list.
//!
//! `cargo run --release -p rumor-membership --example scale [-- N SECONDS]`

use std::time::{Duration, Instant};

use rumor_membership::{DetectorRegistry, EventKind};
use rumor_sim::{Bootstrap, Cluster};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let wall = Instant::now();
    let registry = DetectorRegistry::with_builtins();
    let mut cluster = Cluster::builder(n)
        .detector("swim")
        .loss(0.05)
        .seed(7)
        .bootstrap(Bootstrap::Converged)
        .build(&registry)
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes_sent = |cluster: &Cluster| -> u64 {
        (0..n)
            .filter_map(|i| cluster.core(i))
            .map(|core| core.stats().bytes_sent)
            .sum()
    };
    let warmup = Duration::from_secs(seconds / 3);
    cluster.run_for(warmup);
    let bytes_before = bytes_sent(&cluster);
    let crash_at = cluster.now();
    let victim_slot = n / 2;
    let victim = cluster.id(victim_slot).expect("every node runs");
    cluster.crash(victim_slot);
    let span = Duration::from_secs(seconds) - warmup;
    cluster.run_for(span);
    let bytes_after = bytes_sent(&cluster);
    let mut failed: Vec<Duration> = cluster
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Failed && e.member == victim)
        .map(|e| e.at - crash_at)
        .collect();
    failed.sort();
    let live = cluster.live_slots();
    let largest_datagram = cluster.stats().largest_datagram;
    let report = cluster.finish().report;
    println!(
        "nodes {n}, swim, 5% drop, {seconds} virtual s, wall {:?}",
        wall.elapsed()
    );
    println!(
        "victim marked failed by {} of {} live nodes; first {:?}, p99 {:?}, last {:?}",
        failed.len(),
        live.len(),
        failed.first(),
        failed.get(failed.len().saturating_sub(1) * 99 / 100),
        failed.last()
    );
    println!(
        "false positives {}, suspicions raised {}, largest datagram {largest_datagram} B",
        report.false_positive_marks, report.suspicions_raised
    );
    println!(
        "bytes sent per node per second (message bodies): {:.0}",
        (bytes_after - bytes_before) as f64 / n as f64 / span.as_secs_f64()
    );
}
