//! The `rumor-viz` binary end to end: logs on disk in, PNG out, malformed
//! lines reported with file and line.

use std::process::Command;

use rumor_viz::palette::status_colour;
use rumor_viz::{Image, Layout, LoadedEvents, Replay, Status};

mod common;

#[test]
fn headless_png_from_directories_reports_malformed_lines() {
    let dir = tempfile::tempdir().unwrap();
    // One log per observer, as agents' data directories hold them.
    for port in ["4001", "4002", "4003", "4004"] {
        let lines: Vec<String> = common::CRASH
            .iter()
            .filter(|l| l.1 == port)
            .map(|l| common::json(*l))
            .collect();
        let node = dir.path().join(format!("node-{port}"));
        std::fs::create_dir_all(&node).unwrap();
        let mut text = lines.join("\n") + "\n";
        if port == "4002" {
            text.insert_str(0, "{\"ts_ms\": oops}\n");
        }
        std::fs::write(node.join("events.jsonl"), text).unwrap();
    }
    let before = dir.path().join("before.png");
    let after = dir.path().join("after.png");
    for (at, out) in [("2999ms", &before), ("3s", &after)] {
        let output = Command::new(env!("CARGO_BIN_EXE_rumor-viz"))
            .args(["--headless", "--size", "800x500", "--at", at, "--out"])
            .arg(out)
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains("node-4002/events.jsonl:1: skipped malformed event"),
            "{stderr}"
        );
    }

    let mut loaded = LoadedEvents::default();
    let text: Vec<String> = common::CRASH.iter().map(|l| common::json(*l)).collect();
    loaded.add_log("same", text.iter().zip(1..).map(|(l, n)| (n, l.as_bytes())));
    loaded.merge_by_time();
    let replay = Replay::new(&loaded.events).unwrap();
    let crashed = replay
        .member_index(&"127.0.0.1:4003#1".parse().unwrap())
        .unwrap();
    let (x, y) = Layout::for_replay(800, 500, &replay)
        .slot_position(replay.members()[crashed as usize].slot);
    let colour = |path| {
        let [r, g, b, _] = Image::read_png(path)
            .unwrap()
            .pixel(x.round() as u32, y.round() as u32);
        let c = status_colour(Status::Failed);
        (r, g, b) == (c.0, c.1, c.2)
    };
    assert!(!colour(&before), "not failed before the first detection");
    assert!(colour(&after), "failed from the first detection on");
}

#[test]
fn refuses_to_run_without_input() {
    let output = Command::new(env!("CARGO_BIN_EXE_rumor-viz"))
        .arg("--headless")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--agent"));
}
