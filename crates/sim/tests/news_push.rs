//! Failures pushed at once (`news_fanout`): with slow probing, a crash
//! detected by one member reaches nearly every other within a few one-way
//! delays instead of riding the next probes' piggyback (the few a push
//! misses, about e^-3 of them, still learn it from the piggyback), and the
//! pushes cost about as many bytes at 1,000 nodes as the slow spread did
//! (each push spends the news' retransmit budget, and lists that agree
//! need no anti-entropy repairs).

use std::time::Duration;

use rumor_membership::EventKind;
use rumor_sim::{Bootstrap, RunOptions, Scenario, registry, run};

/// Over the run's crashes: the slowest spread from first to last
/// detection, the share of marks made within 100 ms of each crash's first,
/// and the bytes per node per second.
fn spread(nodes: usize, news_fanout: usize, seed: u64) -> (f64, f64, f64) {
    let mut s = Scenario::default();
    s.nodes = nodes;
    s.detector = Some("swim".into());
    s.bootstrap = Bootstrap::Converged;
    s.fail = 3;
    s.duration = Duration::from_secs(30);
    s.config.probe_interval = Duration::from_millis(800);
    s.config.probe_timeout = Duration::from_millis(320);
    s.config.news_fanout = news_fanout;
    let options = RunOptions::default().with_events(true);
    let outcome = run(&s, seed, &registry(), options).expect("valid scenario");
    let r = &outcome.report;
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert_eq!(r.crashes.len(), 3);
    let slowest = r
        .crashes
        .iter()
        .map(|c| c.all_member_s.expect("seen by all") - c.first_detection_s.unwrap())
        .fold(0.0, f64::max);
    let (mut marks, mut prompt) = (0, 0);
    for crash in &r.crashes {
        let failed: Vec<Duration> = outcome
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Failed && e.member.to_string() == crash.node)
            .map(|e| e.at)
            .collect();
        let first = failed.iter().min().copied().expect("detected");
        marks += failed.len();
        prompt += failed
            .iter()
            .filter(|at| **at - first <= Duration::from_millis(100))
            .count();
    }
    (slowest, prompt as f64 / marks as f64, r.bytes_per_node_s)
}

#[test]
fn pushed_failures_reach_nearly_everyone_within_a_few_hops_of_the_first_detection() {
    for seed in [1, 2] {
        let (pushed, pushed_prompt, _) = spread(100, 3, seed);
        let (piggybacked, piggybacked_prompt, _) = spread(100, 0, seed);
        eprintln!(
            "seed {seed}: slowest {pushed:.3} s and {:.0} % within 100 ms with pushes; \
             {piggybacked:.3} s and {:.0} % without",
            100.0 * pushed_prompt,
            100.0 * piggybacked_prompt
        );
        assert!(pushed_prompt >= 0.9, "seed {seed}: {pushed_prompt:.2}");
        assert!(
            piggybacked_prompt < 0.5,
            "seed {seed}: {piggybacked_prompt:.2}"
        );
        // Probes judged a few round trips after they fail leave the
        // piggyback less to catch up: the slowest spread still shrinks by
        // a third or more.
        assert!(
            piggybacked > 1.5 * pushed,
            "seed {seed}: slowest spread {piggybacked:.3} s without pushes, {pushed:.3} s with"
        );
    }
}

#[test]
fn at_a_thousand_nodes_pushes_cost_about_the_bytes_of_the_slow_spread() {
    let (_, _, pushed) = spread(1000, 3, 1);
    let (_, _, piggybacked) = spread(1000, 0, 1);
    assert!(
        pushed <= 1.1 * piggybacked,
        "{pushed} B/s with pushes, {piggybacked} without"
    );
}
