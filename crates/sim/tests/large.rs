//! 1,000 nodes with swim: every crash is detected by every live node within
//! 6 s (the target for large clusters) and no live node is marked
//! failed. Kept
//! short in virtual time so the debug-build test stays fast; README.md holds
//! the longer release measurements.

use std::time::Duration;

use rumor_sim::{Bootstrap, RunOptions, Scenario, registry, run};

#[test]
fn thousand_nodes_swim() {
    let mut s = Scenario::default();
    s.nodes = 1000;
    s.detector = Some("swim".into());
    s.fail = 3;
    // Joins spread over one second, then one member-list sync with the
    // introducer, so the crashes hit a cluster where everyone knows everyone.
    s.join_window = Duration::from_secs(1);
    s.bootstrap = Bootstrap::Sync;
    s.warmup = Duration::from_secs(4);
    s.duration = Duration::from_secs(11);
    let r = run(&s, 1, &registry(), RunOptions::default())
        .unwrap()
        .report;
    assert!(r.full_view_s.is_some(), "the cluster never formed: {r:?}");
    assert_eq!(r.crashes.len(), 3);
    for c in &r.crashes {
        assert_eq!(c.observers_required, 997, "{c:?}");
        let all = c
            .all_member_s
            .unwrap_or_else(|| panic!("not seen by all: {c:?}"));
        assert!(all <= 6.0, "{c:?}");
        assert!(c.first_detection_s.unwrap() <= all, "{c:?}");
    }
    assert_eq!(r.false_positives, 0, "{r:?}");
    assert_eq!(r.drops.oversized, 0);
}
