//! `rumor-sim sweep` on a small grid: one row per run, a summary per cell,
//! the runs already in runs.csv skipped when it starts again, plots drawn,
//! and bad grids refused with the reason.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rumor_sim::registry;
use rumor_sim::sweep::{RUNS_HEADER, SweepOptions, SweepSpec, System, parse_runs, sweep};

fn small(seeds: u64) -> SweepSpec {
    let mut swim = System::named("swim");
    swim.periods = vec![Duration::from_millis(100), Duration::from_millis(300)];
    let mut sweep_spec = SweepSpec::default();
    sweep_spec.systems = vec![swim, System::named("foca")];
    sweep_spec.nodes = vec![6, 12];
    sweep_spec.loss = vec![0.0, 0.1];
    sweep_spec.pause = vec!["none".into(), "1:300ms:2s".into()];
    sweep_spec.seeds = seeds;
    sweep_spec.duration = Duration::from_secs(14);
    sweep_spec.warmup = Duration::from_secs(4);
    sweep_spec.fail = 1;
    sweep_spec
}

fn options(out: &Path, plots: bool) -> SweepOptions {
    let mut options = SweepOptions::new(out.to_owned(), 2);
    options.plots = plots;
    options
}

fn rows(out: &Path) -> Vec<rumor_sim::sweep::RunRow> {
    parse_runs(&std::fs::read_to_string(out.join("runs.csv")).unwrap()).unwrap()
}

#[test]
fn a_sweep_writes_rows_resumes_and_draws() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // 3 system-periods × 2 sizes × 2 losses × 2 pause patterns = 24 cells.
    let first = sweep(&small(1), &registry(), &options(&out, false)).unwrap();
    assert_eq!((first.cells, first.ran, first.skipped), (24, 24, 0));
    let written = rows(&out);
    assert_eq!(written.len(), 24);
    for r in &written {
        assert_eq!(r.crashes, 1, "{r:?}");
        assert!(r.bytes_per_node_s > 0.0 && r.ip_bytes_per_node_s > r.bytes_per_node_s);
        assert_eq!(r.pauses > 0, r.pause != "none", "{r:?}");
    }
    let swim_fast = written.iter().find(|r| r.period_s == Some(0.1)).unwrap();
    let swim_slow = written
        .iter()
        .find(|r| r.period_s == Some(0.3) && r.nodes == swim_fast.nodes && r.loss == swim_fast.loss)
        .unwrap();
    assert!(swim_fast.bytes_per_node_s > 2.0 * swim_slow.bytes_per_node_s);

    // Twice the seeds: only the new seed runs; the old rows stay.
    let second = sweep(&small(2), &registry(), &options(&out, true)).unwrap();
    assert_eq!((second.cells, second.ran, second.skipped), (48, 24, 24));
    assert_eq!(rows(&out).len(), 48);
    assert_eq!(&rows(&out)[..24], &written[..], "earlier rows untouched");
    // A row lost (a sweep killed mid-write): only that run again.
    let text = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let kept: Vec<&str> = text.lines().take(48).collect();
    std::fs::write(out.join("runs.csv"), kept.join("\n") + "\n").unwrap();
    let third = sweep(&small(2), &registry(), &options(&out, true)).unwrap();
    assert_eq!((third.ran, third.skipped), (1, 47));

    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 24, "{summary}");
    assert!(third.summary.iter().all(|c| c.runs == 2));
    for plot in [
        "detection-cdf",
        "fp-vs-loss",
        "fp-vs-pause",
        "bytes-vs-nodes",
        "frontier-n6-loss0",
        "frontier-n12-loss0.1-pause1_300ms_2s",
    ] {
        let svg = std::fs::read_to_string(out.join(format!("{plot}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{plot}"
        );
        assert!(svg.contains("swim"), "{plot}: the legend names the systems");
        let png = std::fs::read(out.join(format!("{plot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{plot}");
    }
}

#[test]
fn a_sweep_file_and_its_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grid.toml");
    std::fs::write(
        &file,
        r#"
        nodes = [5]
        seeds = 1
        duration = "12s"
        warmup = "4s"
        fail = 1
        [[systems]]
        label = "gossip-slow"
        detector = "gossip"
        periods = ["200ms"]
        [[systems]]
        label = "foca-matched"
        detector = "foca"
        foca = { match_timing = true }
        "#,
    )
    .unwrap();
    let spec = SweepSpec::from_file(&file).unwrap();
    let cells = spec.cells().unwrap();
    assert_eq!(cells.len(), 2);
    assert_eq!(
        cells[0].scenario.config.heartbeat,
        Duration::from_millis(200)
    );
    assert_eq!(cells[0].scenario.config.t_fail, Duration::from_secs(1));
    assert!(cells[1].scenario.foca.match_timing);

    let out = Command::new(env!("CARGO_BIN_EXE_rumor-sim"))
        .args(["sweep", "--quiet", "--no-plots", "--file"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2 runs in the grid, 2 run now"), "{text}");
    assert!(
        text.contains("gossip-slow") && text.contains("foca-matched"),
        "{text}"
    );
    let runs = std::fs::read_to_string(dir.path().join("o/runs.csv")).unwrap();
    assert!(runs.starts_with(RUNS_HEADER));

    for (args, needle) in [
        (vec!["--detectors", "nosuch"], "unknown detector"),
        (
            vec!["--detectors", "swim", "--pause", "1:5s:5s"],
            "EVERY must be longer",
        ),
        (
            vec!["--detectors", "swim", "--loss", "2"],
            "not a probability",
        ),
        (vec!["--detectors", "swim", "--nodes", "ten"], "ten"),
        (vec!["--nodes", "5"], "names no system"),
        (
            vec!["--detectors", "swim", "--periods", "0s"],
            "period must be positive",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rumor-sim"))
            .arg("sweep")
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("bad"))
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    std::fs::write(dir.path().join("bad.toml"), "nodez = [3]").unwrap();
    let e = SweepSpec::from_file(&dir.path().join("bad.toml")).unwrap_err();
    assert!(e.to_string().contains("nodez"), "{e}");
}
