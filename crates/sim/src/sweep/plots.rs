//! The sweep's plots, from its rows: detection-latency CDFs per system,
//! false positives against loss and against pause length, bytes per node
//! per second against cluster size, and the frontier (all-member detection
//! p99 against bytes per node per second as each system's period varies).
//! A plot whose axis the grid does not vary is not drawn.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::SimError;
use crate::pause::PauseSpec;
use crate::sweep::chart::Chart;
use crate::sweep::rows::{CellSummary, RunRow};

/// Draws every plot the grid allows into `dir`; returns the files' stems.
pub fn draw_all(
    dir: &Path,
    rows: &[RunRow],
    cells: &[CellSummary],
) -> Result<Vec<PathBuf>, SimError> {
    let mut charts: Vec<(String, Chart)> = Vec::new();
    charts.push(("detection-cdf".into(), cdf(rows)));
    if distinct(cells, |c| c.loss.to_string()) > 1 {
        charts.push(("fp-vs-loss".into(), by_axis(cells, Axis::Loss)));
    }
    if cells.iter().any(|c| c.pause != "none") {
        charts.push(("fp-vs-pause".into(), by_axis(cells, Axis::Pause)));
    }
    if distinct(cells, |c| c.nodes.to_string()) > 1 {
        charts.push(("bytes-vs-nodes".into(), by_axis(cells, Axis::Nodes)));
    }
    charts.extend(frontiers(cells));
    let mut written = Vec::new();
    for (stem, chart) in charts {
        chart.write(dir, &stem)?;
        written.push(dir.join(stem));
    }
    Ok(written)
}

fn distinct(cells: &[CellSummary], f: impl Fn(&CellSummary) -> String) -> usize {
    cells
        .iter()
        .map(f)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// All-member detection latencies of every crash, pooled per series.
fn cdf(rows: &[RunRow]) -> Chart {
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        let name = match r.period_s {
            Some(p) => format!("{} {}", r.system, seconds(p)),
            None => r.system.clone(),
        };
        series.entry(name).or_default().extend(&r.all_member_s);
    }
    let series = series
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len() as f64;
            let mut pts = vec![(v[0], 0.0)];
            for (i, x) in v.iter().enumerate() {
                pts.push((*x, i as f64 / n));
                pts.push((*x, (i + 1) as f64 / n));
            }
            (format!("{name} ({} crashes)", v.len()), pts)
        })
        .collect();
    Chart {
        title: "All-member detection latency (every crash of the sweep)".into(),
        x_label: "seconds from the crash until every live member declared it failed".into(),
        y_label: "fraction of crashes".into(),
        x_log: false,
        y_log: false,
        lines: true,
        series,
    }
}

#[derive(Clone, Copy)]
enum Axis {
    Loss,
    Pause,
    Nodes,
}

/// One point per series and axis value: the mean over the other axes.
fn by_axis(cells: &[CellSummary], axis: Axis) -> Chart {
    let mut series: BTreeMap<String, BTreeMap<u64, (f64, f64, usize)>> = BTreeMap::new();
    for c in cells {
        let (x, y) = match axis {
            Axis::Loss => (c.loss * 100.0, c.false_positives_per_node_hour),
            Axis::Pause => {
                let Ok(spec) = c.pause.parse::<PauseSpec>() else {
                    continue;
                };
                (
                    spec.lasting.as_secs_f64(),
                    c.paused_declared_share() * 100.0,
                )
            }
            Axis::Nodes => (c.nodes as f64, c.bytes_per_node_s),
        };
        let point = series
            .entry(c.series())
            .or_default()
            .entry(x.to_bits())
            .or_insert((x, 0.0, 0));
        point.1 += y;
        point.2 += 1;
    }
    let series = series
        .into_iter()
        .map(|(name, pts)| {
            let mut pts: Vec<(f64, f64)> = pts
                .into_values()
                .map(|(x, y, n)| (x, y / n as f64))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (name, pts)
        })
        .collect();
    let (title, x_label, y_label, log) = match axis {
        Axis::Loss => (
            "False positives against loss",
            "receiver-side datagram loss (%)",
            "live members declared failed / node / hour",
            false,
        ),
        Axis::Pause => (
            "Paused members declared failed",
            "pause length (s)",
            "pauses that ended declared failed (%)",
            false,
        ),
        Axis::Nodes => (
            "Bandwidth against cluster size",
            "nodes",
            "bytes sent / node / s (encoded, no IP headers)",
            true,
        ),
    };
    Chart {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        x_log: log,
        y_log: log,
        lines: true,
        series,
    }
}

/// One frontier per condition (nodes, loss, pause) where some system
/// varies its period; cells where a crash was not seen by every member are
/// left out.
fn frontiers(cells: &[CellSummary]) -> Vec<(String, Chart)> {
    let mut conditions: BTreeMap<(usize, String, String), Vec<&CellSummary>> = BTreeMap::new();
    for c in cells {
        conditions
            .entry((c.nodes, c.loss.to_string(), c.pause.clone()))
            .or_default()
            .push(c);
    }
    let mut out = Vec::new();
    for ((nodes, loss, pause), cells) in conditions {
        if !cells.iter().any(|c| c.period_s.is_some()) {
            continue;
        }
        let mut series: BTreeMap<&str, Vec<(f64, f64, f64)>> = BTreeMap::new();
        for c in &cells {
            // A cell where some crash went unseen by some member has no
            // all-member p99 to speak of: left out.
            let complete = c.crashes_seen_by_all == c.crashes;
            if let Some(p99) = c.all_member.map(|s| s.p99).filter(|_| complete) {
                series.entry(&c.system).or_default().push((
                    c.period_s.unwrap_or(0.0),
                    c.bytes_per_node_s,
                    p99,
                ));
            }
        }
        let series = series
            .into_iter()
            .map(|(name, mut pts)| {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (
                    name.to_owned(),
                    pts.into_iter().map(|(_, x, y)| (x, y)).collect(),
                )
            })
            .collect();
        let pause_text = if pause == "none" {
            String::new()
        } else {
            format!(", pauses {pause}")
        };
        let stem = format!(
            "frontier-n{nodes}-loss{loss}{}",
            if pause == "none" {
                String::new()
            } else {
                format!("-pause{}", file_safe(&pause))
            }
        );
        out.push((
            stem,
            Chart {
                title: format!(
                    "Frontier: {nodes} nodes, {}% loss{pause_text}",
                    loss.parse::<f64>().unwrap_or(0.0) * 100.0
                ),
                x_label: "bytes sent / node / s (encoded, no IP headers)".into(),
                y_label: "all-member detection p99 (s)".into(),
                x_log: true,
                y_log: false,
                lines: true,
                series,
            },
        ));
    }
    out
}

fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn seconds(p: f64) -> String {
    humantime::format_duration(std::time::Duration::from_secs_f64(p)).to_string()
}
