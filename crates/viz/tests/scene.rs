//! The scene model from small hand-written logs: what each observer sees at
//! a time, what the majority sees, and the detection latencies.

mod common;

use common::{CRASH, Line, replay};
use rumor_viz::{MarkerKind, Replay, Scene, Status, Viewpoint};

fn member(replay: &Replay, port: &str) -> u32 {
    let id = if port.contains('#') {
        format!("127.0.0.1:{port}")
    } else {
        format!("127.0.0.1:{port}#1")
    };
    replay.member_index(&id.parse().unwrap()).unwrap()
}

fn row(replay: &Replay, port: &str) -> Viewpoint {
    Viewpoint::Observer(
        replay.members()[member(replay, port) as usize]
            .observer
            .unwrap(),
    )
}

fn seen(replay: &Replay, at: u64, viewpoint: Viewpoint, port: &str) -> Option<Status> {
    let mut scene = Scene::new(replay);
    scene.seek(replay, at);
    scene.status(viewpoint, member(replay, port))
}

#[test]
fn each_observer_sees_its_own_log() {
    let r = replay(CRASH);
    let (a, b, d) = (row(&r, "4001"), row(&r, "4002"), row(&r, "4004"));
    assert_eq!(seen(&r, 50, a, "4003"), None, "not yet learned of");
    assert_eq!(seen(&r, 100, a, "4003"), Some(Status::Alive));
    assert_eq!(seen(&r, 2_200, a, "4003"), Some(Status::Suspected));
    assert_eq!(seen(&r, 2_200, b, "4003"), Some(Status::Alive));
    assert_eq!(seen(&r, 3_500, a, "4003"), Some(Status::Failed));
    assert_eq!(seen(&r, 3_500, b, "4003"), Some(Status::Suspected));
    assert_eq!(seen(&r, 3_500, d, "4003"), Some(Status::Suspected));
    assert_eq!(seen(&r, 4_799, d, "4003"), Some(Status::Suspected));
    assert_eq!(seen(&r, 4_800, d, "4003"), Some(Status::Failed));
    assert_eq!(seen(&r, 9_000, a, "4003"), Some(Status::Removed));
    assert_eq!(seen(&r, 9_000, b, "4003"), Some(Status::Failed));
    // The crashed node's own log stops: it still believes itself alive.
    assert_eq!(
        seen(&r, 9_000, row(&r, "4003"), "4003"),
        Some(Status::Alive)
    );
}

#[test]
fn majority_of_live_observers() {
    let r = replay(CRASH);
    let majority = |at| seen(&r, at, Viewpoint::Majority, "4003");
    assert_eq!(majority(2_200), Some(Status::Alive), "1 of 4 suspects");
    assert_eq!(
        majority(2_600),
        Some(Status::Suspected),
        "2 of 4: ties go to the later stage"
    );
    // 4003 is no longer a live observer once declared failed: 3 live views remain.
    assert_eq!(majority(3_000), Some(Status::Failed));
    assert_eq!(
        majority(9_000),
        Some(Status::Failed),
        "one removal, two failed"
    );
    assert_eq!(
        seen(&r, 2_200, Viewpoint::Majority, "4001"),
        Some(Status::Alive)
    );

    let mut scene = Scene::new(&r);
    scene.seek(&r, 2_999);
    assert_eq!(scene.live_observers(), 4);
    scene.seek(&r, 3_000);
    assert_eq!(scene.live_observers(), 3);
    assert_eq!(scene.tally(member(&r, "4003"))[Status::Failed as usize], 1);
    let counts = scene.counts(Viewpoint::Majority);
    assert_eq!(counts[Status::Alive as usize], 3);
    assert_eq!(counts[Status::Failed as usize], 1);
}

#[test]
fn seeking_back_and_forth_gives_the_same_scene() {
    let r = replay(CRASH);
    let mut jumping = Scene::new(&r);
    for at in [9_000, 100, 4_000, 2_600, 10_000, 3_000] {
        jumping.seek(&r, at);
        let mut fresh = Scene::new(&r);
        fresh.seek(&r, at);
        for m in 0..r.members().len() as u32 {
            for v in [Viewpoint::Majority, row(&r, "4001"), row(&r, "4004")] {
                assert_eq!(jumping.status(v, m), fresh.status(v, m), "at {at}");
            }
        }
    }
}

#[test]
fn detection_latencies() {
    let r = replay(CRASH);
    assert_eq!(r.crashes().len(), 1);
    let crash = &r.crashes()[0];
    assert_eq!(crash.member, member(&r, "4003"));
    assert_eq!(crash.last_own_event, Some(100));
    assert_eq!(crash.first_report, 2_000, "first suspicion");
    assert_eq!(crash.first_failed, 3_000);
    assert_eq!(crash.first_latency(), 1_000);
    assert_eq!(crash.expected, 3);
    assert_eq!(crash.reporters_at(4_500), 2);
    assert_eq!(
        crash.all_latency_at(4_500),
        None,
        "4004 has not reported yet"
    );
    assert_eq!(crash.all_latency_at(4_800), Some(2_800));
    assert_eq!(crash.spread_at(4_000), Some(1_000));
    assert_eq!(crash.spread_at(10_000), Some(1_800));
}

#[test]
fn a_refuted_suspicion_does_not_start_the_clock() {
    let mut lines: Vec<Line> = CRASH
        .iter()
        .copied()
        .filter(|l| l.3 != "4003" || l.2 == "joined")
        .collect();
    lines.extend([
        (1_000, "4001", "suspected", "4003"),
        (1_200, "4001", "alive", "4003"),
        (6_000, "4002", "suspected", "4003"),
        (7_000, "4002", "failed", "4003"),
    ]);
    let r = replay(&lines);
    let crash = &r.crashes()[0];
    assert_eq!((crash.first_report, crash.first_failed), (6_000, 7_000));
    assert_eq!(
        seen(&r, 1_100, row(&r, "4001"), "4003"),
        Some(Status::Suspected)
    );
    assert_eq!(
        seen(&r, 1_300, row(&r, "4001"), "4003"),
        Some(Status::Alive)
    );
}

#[test]
fn restarted_node_is_a_new_member_in_the_same_slot() {
    let mut lines: Vec<Line> = CRASH.to_vec();
    lines.extend([
        // Restarted before the last detections: it is not expected to report
        // its own earlier version.
        (2_900, "4003#2", "joined", "4003#2"),
        (10_200, "4001", "joined", "4003#2"),
        (12_000, "4004", "left", "4004"),
        (12_100, "4001", "left", "4004"),
    ]);
    let r = replay(&lines);
    let (old, new) = (member(&r, "4003"), member(&r, "4003#2"));
    let slot = r.members()[old as usize].slot;
    assert_eq!(r.members()[new as usize].slot, slot);
    assert!(!r.members()[old as usize].restarted);
    assert!(r.members()[new as usize].restarted);
    assert_eq!(r.slot_member_at(slot, 2_899), Some(old));
    assert_eq!(r.slot_member_at(slot, 2_900), Some(new));
    assert_eq!(r.crashes()[0].expected, 3);
    assert_eq!(
        seen(&r, 10_300, Viewpoint::Majority, "4003#2"),
        Some(Status::Alive)
    );
    assert_eq!(
        seen(&r, 12_100, row(&r, "4001"), "4004"),
        Some(Status::Left)
    );

    let mut scene = Scene::new(&r);
    scene.seek(&r, 12_000);
    assert!(
        !scene.is_live(r.members()[member(&r, "4004") as usize].observer.unwrap()),
        "left"
    );
    let kinds: Vec<MarkerKind> = r.markers().iter().map(|m| m.kind).collect();
    for kind in [
        MarkerKind::Join,
        MarkerKind::Leave,
        MarkerKind::Crash,
        MarkerKind::Detection,
    ] {
        assert!(kinds.contains(&kind), "{kind:?}");
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == MarkerKind::Detection)
            .count(),
        3
    );
    assert_eq!(kinds.iter().filter(|k| **k == MarkerKind::Leave).count(), 1);
}

#[test]
fn slots_are_stable_when_members_join() {
    // The ring has a slot for every address of the whole history, so a node
    // that joins late (even one sorting first) moves nobody.
    let mut lines = CRASH.to_vec();
    lines.push((20_000, "4000", "joined", "4000"));
    lines.push((20_100, "4001", "joined", "4000"));
    let r = replay(&lines);
    let late = r.members()[member(&r, "4000") as usize].slot;
    assert_eq!(r.slot_member_at(late, 19_999), None, "its slot waits empty");
    assert_eq!(r.slot_member_at(late, 20_000), Some(member(&r, "4000")));
    for port in ["4001", "4002", "4003", "4004"] {
        let slot = r.members()[member(&r, port) as usize].slot;
        assert_eq!(r.slot_member_at(slot, 1_000), Some(member(&r, port)));
        assert_eq!(r.slot_member_at(slot, 25_000), Some(member(&r, port)));
    }
}
