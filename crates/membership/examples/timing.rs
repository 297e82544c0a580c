//! Measures detection times and false positives of the built-in detectors
//! with the default configuration on 10-node in-memory clusters (1 ms
//! latency, receiver-side drop), over many seeds, and prints a table.
//!
//! `cargo run --release -p rumor-membership --example timing [-- SEEDS [CRASHES]]`
//!
//! With CRASHES > 1, that many nodes crash at once and every one of them
//! counts as a sample.
//!
//! The clusters are the simulator's in-memory harness (`rumor_sim::Cluster`)
//! with a fixed 1 ms latency; the authoritative benchmark is `rumor-sim`,
//! and this is the crate's own check of the arithmetic in `docs/protocol.md`.

use std::time::Duration;

use rumor_membership::{DetectorRegistry, EventKind};
use rumor_sim::Cluster;

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let crashes: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .clamp(1, 9);
    let registry = DetectorRegistry::with_builtins();
    println!(
        "detector  drop  seeds  first(max)  all(max)  first(median)  all(median)  false+  suspicions"
    );
    for detector in ["gossip", "swim", "phi"] {
        for drop in [0.0, 0.1] {
            let mut firsts = Vec::new();
            let mut alls = Vec::new();
            let mut false_positives = 0;
            let mut suspicions = 0;
            for seed in 1..=seeds {
                let mut cluster = Cluster::builder(10)
                    .detector(detector)
                    .loss(drop)
                    .seed(seed)
                    .latency(Duration::from_millis(1), Duration::ZERO)
                    .join_window(Duration::from_millis(90))
                    .build(&registry)
                    .unwrap_or_else(|e| panic!("{e}"));
                cluster.run_for(Duration::from_secs(5));
                let crash_at = cluster.now();
                let victims: Vec<usize> = (0..crashes)
                    .map(|k| 1 + (seed as usize + 2 * k) % 9)
                    .collect();
                let ids: Vec<_> = victims.iter().filter_map(|&v| cluster.id(v)).collect();
                for &v in &victims {
                    cluster.crash(v);
                }
                cluster.run_for(Duration::from_secs(10));
                let live = cluster.live_slots();
                for victim in ids {
                    let failed: Vec<Duration> = cluster
                        .events()
                        .iter()
                        .filter(|e| e.kind == EventKind::Failed && e.member == victim)
                        .map(|e| e.at - crash_at)
                        .collect();
                    firsts.push(failed.iter().min().copied().unwrap_or(Duration::MAX));
                    alls.push(if failed.len() >= live.len() {
                        failed.iter().max().copied().unwrap_or(Duration::MAX)
                    } else {
                        Duration::MAX
                    });
                }
                let report = cluster.finish().report;
                false_positives += report.false_positive_marks;
                suspicions += report.suspicions_raised;
            }
            firsts.sort();
            alls.sort();
            let ms = |d: Duration| {
                if d == Duration::MAX {
                    "never".to_string()
                } else {
                    format!("{} ms", d.as_millis())
                }
            };
            println!(
                "{detector:<8}  {:>3}%  {seeds:>5}  {:>10}  {:>8}  {:>13}  {:>11}  {false_positives:>6}  {suspicions:>10}",
                (drop * 100.0) as u32,
                ms(firsts[firsts.len() - 1]),
                ms(alls[alls.len() - 1]),
                ms(firsts[firsts.len() / 2]),
                ms(alls[alls.len() / 2]),
            );
        }
    }
}
