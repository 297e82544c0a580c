//! A simulator run replays like a real cluster: rumor-sim's event log of a
//! 1,000-node run (written by the simulator's own writer, one file holding
//! every observer) loads without a malformed line, its three crashes are
//! found with every live observer reporting them, and it plays: the clock
//! advances frame by frame, each frame's scene is drawn headless, and the
//! crashed members turn from alive to failed in the majority view.

use std::process::Command;
use std::time::Duration;

use rumor_sim::{Bootstrap, RunOptions, Scenario, events_to_jsonl, registry, run};
use rumor_viz::{FrameInfo, Headless, Player, Replay, Scene, Status, Viewpoint, load_paths};

const NODES: usize = 1000;

/// A converged 1,000-node swim cluster, three nodes crashing at 2 s.
fn simulated_log(dir: &std::path::Path) {
    let mut scenario = Scenario::default();
    scenario.nodes = NODES;
    scenario.detector = Some("swim".into());
    scenario.fail = 3;
    scenario.bootstrap = Bootstrap::Converged;
    scenario.warmup = Duration::from_secs(2);
    scenario.duration = Duration::from_secs(7);
    let options = RunOptions::default().with_events(true);
    let outcome = run(&scenario, 1, &registry(), options).expect("valid scenario");
    assert!(
        outcome
            .report
            .crashes
            .iter()
            .all(|c| c.all_member_s.is_some())
    );
    std::fs::write(dir.join("events.jsonl"), events_to_jsonl(&outcome.events)).unwrap();
}

#[test]
fn a_thousand_node_simulation_opens_and_plays() {
    let dir = tempfile::tempdir().unwrap();
    simulated_log(dir.path());
    let loaded = load_paths(&[dir.path().to_owned()]).expect("the log reads");
    assert!(loaded.malformed.is_empty(), "{:?}", &loaded.malformed[..1]);
    assert_eq!(loaded.sources, 1);
    let replay = Replay::new(&loaded.events).expect("events");
    // Every node shows: the live ones as observers of the crashes, the
    // crashed ones as members they report.
    assert_eq!(replay.slots().len(), NODES);
    assert_eq!(&*replay.detectors()[0], "swim");
    let crashes = replay.crashes();
    assert_eq!(crashes.len(), 3, "{crashes:?}");
    for c in crashes {
        assert_eq!(c.reports.len(), NODES - 3, "every survivor reports it");
    }

    let mut player = Player::new(replay.duration());
    player.play();
    let mut scene = Scene::new(&replay);
    let mut canvas = Headless::new(640, 400).expect("a software canvas needs no display");
    let crashed: Vec<u32> = crashes.iter().map(|c| c.member).collect();
    let first_failed = crashes.iter().map(|c| c.first_failed).min().unwrap();
    let (mut frames, mut seen_alive, mut seen_failed) = (0, false, false);
    while player.at() < replay.duration() {
        // 30 frames a second of replay time at 1x.
        player.advance(Duration::from_millis(33));
        scene.seek(&replay, player.at());
        let info = FrameInfo {
            viewpoint: Viewpoint::Majority,
            playing: player.is_playing(),
            speed: player.speed(),
        };
        if frames % 15 == 0 {
            let image = canvas.render(&replay, &scene, &info).expect("render");
            assert_eq!((image.width, image.height), (640, 400));
        }
        let states: Vec<_> = crashed
            .iter()
            .map(|&m| scene.status(Viewpoint::Majority, m))
            .collect();
        if player.at() < first_failed {
            seen_alive |= states.iter().all(|s| *s != Some(Status::Failed));
        }
        seen_failed = states.iter().all(|s| *s == Some(Status::Failed));
        frames += 1;
    }
    assert!(frames > 30, "{frames} frames");
    assert!(
        seen_alive,
        "the crashed members are not failed before their detection"
    );
    assert!(
        seen_failed,
        "every crashed member ends failed in the majority view"
    );
}

#[test]
fn the_viewer_renders_a_simulated_run_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    simulated_log(dir.path());
    let png = dir.path().join("frame.png");
    let out = Command::new(env!("CARGO_BIN_EXE_rumor-viz"))
        .args(["--headless", "--at", "4s", "--size", "640x400", "--out"])
        .arg(&png)
        .arg(dir.path())
        .output()
        .expect("rumor-viz runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
}
