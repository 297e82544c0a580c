//! Runs one `swim` cluster of N nodes (default 1,000) at 5 % receiver-side
//! drop, crashes one node, and prints detection times, false positives and
//! bytes sent per node per second.
//!
//! `cargo run --release -p rumor-membership --example scale [-- N SECONDS]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Cluster;
use rumor_membership::EventKind;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let wall = Instant::now();
    let mut cluster = Cluster::bootstrapped(n, "swim", 0.05, 7);
    let warmup = Duration::from_secs(seconds / 3);
    cluster.run_for(warmup);
    let bytes_before: u64 = cluster
        .nodes
        .iter()
        .map(|n| n.core.stats().bytes_sent)
        .sum();
    let crash_at = cluster.now;
    let victim = cluster.id(n / 2);
    cluster.crash(n / 2);
    let span = Duration::from_secs(seconds) - warmup;
    cluster.run_for(span);
    let bytes_after: u64 = cluster
        .nodes
        .iter()
        .map(|n| n.core.stats().bytes_sent)
        .sum();
    let mut failed: Vec<Duration> = cluster
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Failed && e.member == victim)
        .map(|e| e.at - crash_at)
        .collect();
    failed.sort();
    let live = cluster.live_indexes().len();
    let suspicions: u64 = cluster
        .nodes
        .iter()
        .map(|n| n.core.stats().suspicions)
        .sum();
    println!(
        "nodes {n}, swim, 5% drop, {seconds} virtual s, wall {:?}",
        wall.elapsed()
    );
    println!(
        "victim marked failed by {} of {live} live nodes; first {:?}, p99 {:?}, last {:?}",
        failed.len(),
        failed.first(),
        failed.get(failed.len().saturating_sub(1) * 99 / 100),
        failed.last()
    );
    println!(
        "false positives {}, suspicions raised {suspicions}, largest datagram {} B",
        cluster.false_positives().len(),
        cluster.largest_datagram
    );
    println!(
        "bytes sent per node per second (message bodies): {:.0}",
        (bytes_after - bytes_before) as f64 / n as f64 / span.as_secs_f64()
    );
}
