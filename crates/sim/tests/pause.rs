//! Pauses as a fault: a paused node sends and handles nothing, its
//! datagrams wait in a bounded receive buffer, it goes on with the
//! backlog, and a paused node declared failed is a false positive of its
//! own kind, never a crash.

use std::time::Duration;

use rumor_sim::{
    ActionKind, ActionSpec, Bootstrap, RunOptions, RunOutcome, Scenario, registry, run,
};

const S: fn(u64) -> Duration = Duration::from_secs;

fn paused(detector: &str, lasting: Duration) -> Scenario {
    let mut pause = ActionSpec::new(S(5), ActionKind::Pause, vec![4]);
    pause.lasting = Some(lasting);
    let mut scenario = Scenario::default();
    scenario.nodes = 10;
    scenario.detector = Some(detector.into());
    scenario.bootstrap = Bootstrap::Converged;
    scenario.warmup = S(5);
    scenario.duration = S(20);
    scenario.actions = vec![pause];
    scenario
}

fn simulate(s: &Scenario) -> RunOutcome {
    let options = RunOptions::default().with_events(true);
    run(s, 4, &registry(), options).expect("valid scenario")
}

#[test]
fn a_long_pause_is_a_false_positive_not_a_crash() {
    for detector in ["swim", "gossip", "foca"] {
        let outcome = simulate(&paused(detector, S(12)));
        let r = &outcome.report;
        assert!(r.crashes.is_empty(), "{detector}");
        assert_eq!(r.pauses, 1, "{detector}");
        assert!(
            r.pause_false_positives == 1 && r.false_positives == 1,
            "{detector}: {r:?}"
        );
        assert!(r.pause_false_positive_marks >= 1, "{detector}: {r:?}");
        // While paused, node 4 (10.0.0.5) observed nothing: it ran nothing.
        let during: Vec<_> = outcome
            .events
            .iter()
            .filter(|e| e.observer.addr.to_string() == "10.0.0.5:4000")
            .filter(|e| e.at > S(5) && e.at < S(17))
            .collect();
        assert!(during.is_empty(), "{detector}: {during:?}");
        // After the pause it reads the backlog, learns it was declared
        // failed and comes back under a new version.
        assert!(r.rejoins >= 1, "{detector}: {r:?}");
    }
}

#[test]
fn pauses_shorter_than_the_suspicion_budget_are_refuted() {
    for detector in ["swim", "gossip", "foca"] {
        let mut s = paused(detector, Duration::from_millis(400));
        s.pause = Some("2:400ms:1500ms".parse().unwrap());
        let r = simulate(&s).report;
        assert!(r.pauses >= 20, "{detector}: {r:?}");
        assert_eq!(r.false_positives, 0, "{detector}: {r:?}");
        assert_eq!(r.drops.receive_buffer, 0);
    }
}

#[test]
fn the_receive_buffer_bounds_the_backlog() {
    let mut s = paused("swim", S(2));
    s.receive_buffer = 200;
    let r = simulate(&s).report;
    assert!(r.drops.receive_buffer > 0, "{r:?}");
    s.receive_buffer = 1 << 20;
    assert_eq!(simulate(&s).report.drops.receive_buffer, 0);
}

#[test]
fn pause_actions_parse_and_repeat() {
    let s = Scenario::from_toml(
        r#"
        nodes = 5
        pause = "1:1s:5s"
        [[actions]]
        at = "2s"
        action = "pause"
        nodes = [2]
        for = "500ms"
        every = "2s"
        times = 3
        "#,
    )
    .unwrap();
    s.validate().unwrap();
    let mut swim = s.clone();
    swim.detector = Some("swim".into());
    let outcome = simulate(&swim);
    // Three timed pauses, and one every 5 s from warm-up (10 s) to 30 s.
    assert_eq!(outcome.report.pauses, 3 + 4);
    for bad in [
        "[[actions]]\nat = \"1s\"\naction = \"pause\"\nnodes = [1]",
        "[[actions]]\nat = \"1s\"\naction = \"pause\"\nnodes = [1]\nfor = \"1s\"\ntimes = 2",
        "[[actions]]\nat = \"1s\"\naction = \"crash\"\nnodes = [1]\nevery = \"1s\"",
        "pause = \"1%:1s\"",
    ] {
        let parsed = Scenario::from_toml(bad).and_then(|s| s.validate().map_err(|e| e.to_string()));
        assert!(parsed.is_err(), "{bad}");
    }
    let e = paused("swim", S(1));
    let mut too_many = e.clone();
    too_many.pause = Some("10:1s:5s".parse().unwrap());
    assert!(too_many.validate().is_err());
}
