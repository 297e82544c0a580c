//! Urgent news pushed at once (`news_fanout`): with slow probing, a crash
//! detected by one member reaches every other within a few hops instead of
//! riding the next probes' piggyback, and the pushes cost about as many
//! bytes at 1,000 nodes as the slow spread did (each push spends the news'
//! retransmit budget, and lists that agree need no anti-entropy repairs).

use std::time::Duration;

use rumor_sim::{Bootstrap, RunOptions, Scenario, registry, run};

/// The slowest spread from first to last detection over the run's
/// crashes, and the bytes per node per second.
fn spread_and_bytes(nodes: usize, news_fanout: usize, seed: u64) -> (f64, f64) {
    let mut s = Scenario::default();
    s.nodes = nodes;
    s.detector = Some("swim".into());
    s.bootstrap = Bootstrap::Converged;
    s.fail = 3;
    s.duration = Duration::from_secs(30);
    s.config.probe_interval = Duration::from_millis(800);
    s.config.probe_timeout = Duration::from_millis(320);
    s.config.news_fanout = news_fanout;
    let outcome = run(&s, seed, &registry(), RunOptions::default()).expect("valid scenario");
    let r = outcome.report;
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert_eq!(r.crashes.len(), 3);
    let spread = r
        .crashes
        .iter()
        .map(|c| c.all_member_s.expect("seen by all") - c.first_detection_s.unwrap())
        .fold(0.0, f64::max);
    (spread, r.bytes_per_node_s)
}

#[test]
fn pushed_news_reaches_everyone_within_a_few_hops_of_the_first_detection() {
    for seed in [1, 2] {
        let (pushed, _) = spread_and_bytes(100, 3, seed);
        let (piggybacked, _) = spread_and_bytes(100, 0, seed);
        assert!(
            pushed < 0.5,
            "seed {seed}: spread {pushed:.3} s with pushes"
        );
        assert!(
            piggybacked > 2.0 * pushed,
            "seed {seed}: spread {piggybacked:.3} s without pushes, {pushed:.3} s with"
        );
    }
}

#[test]
fn at_a_thousand_nodes_pushes_cost_about_the_bytes_of_the_slow_spread() {
    let (_, pushed) = spread_and_bytes(1000, 3, 1);
    let (_, piggybacked) = spread_and_bytes(1000, 0, 1);
    assert!(
        pushed <= 1.1 * piggybacked,
        "{pushed} B/s with pushes, {piggybacked} without"
    );
}
