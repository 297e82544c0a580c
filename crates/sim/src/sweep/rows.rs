//! The sweep's two CSV files: `runs.csv`, one row per run (appended as runs
//! finish, so an interrupted sweep resumes where it stopped), and
//! `summary.csv`, one row per cell of the grid over its seeds.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{RunReport, Spread};
use crate::sweep::spec::Cell;

/// Bytes of IPv4 and UDP headers a datagram carries on a real wire.
pub const IP_UDP_HEADERS: f64 = 28.0;

/// The columns of `runs.csv`; the first six are the cell's key.
pub const RUNS_HEADER: &str = "system,period_s,nodes,loss,pause,seed,detector,crashes,\
crashes_seen_by_all,first_detection_max_s,all_member_max_s,false_positives,\
false_positive_marks,pauses,pause_false_positives,pause_false_positive_marks,\
suspicions_raised,rejoins,messages_per_node_s,bytes_per_node_s,ip_bytes_per_node_s,\
max_bytes_per_node_s,window_s,wall_s,first_detection_s,all_member_s";

/// The columns of `summary.csv`.
pub const SUMMARY_HEADER: &str = "system,period_s,nodes,loss,pause,detector,runs,crashes,\
crashes_seen_by_all,first_detection_p50_s,all_member_p50_s,all_member_p99_s,all_member_max_s,\
false_positives,false_positives_per_node_hour,pauses,pause_false_positives,\
paused_declared_failed_share,suspicions_raised_per_run,rejoins_per_run,messages_per_node_s,\
bytes_per_node_s,ip_bytes_per_node_s,wall_s";

/// One row of `runs.csv`, as written and as read back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunRow {
    /// The first six columns, joined by commas.
    pub key: String,
    /// System label.
    pub system: String,
    /// Period in seconds, if the system varies one.
    pub period_s: Option<f64>,
    /// Cluster size.
    pub nodes: usize,
    /// Receiver-side drop.
    pub loss: f64,
    /// Pause pattern or `none`.
    pub pause: String,
    /// Detector.
    pub detector: String,
    /// Crashes in the run.
    pub crashes: usize,
    /// Crashes every required observer detected.
    pub crashes_seen_by_all: usize,
    /// Distinct live members declared failed (partitions aside).
    pub false_positives: usize,
    /// Pauses.
    pub pauses: u64,
    /// Paused members declared failed.
    pub pause_false_positives: usize,
    /// Suspicions raised by the nodes' own detectors.
    pub suspicions_raised: u64,
    /// New versions taken.
    pub rejoins: u64,
    /// Messages per node per second.
    pub messages_per_node_s: f64,
    /// Encoded bytes per node per second.
    pub bytes_per_node_s: f64,
    /// The same with 28 bytes of IPv4 and UDP headers per message.
    pub ip_bytes_per_node_s: f64,
    /// Seconds of the measurement window.
    pub window_s: f64,
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
    /// First detection of each crash, seconds.
    pub first_detection_s: Vec<f64>,
    /// All-member detection of each crash seen by all, seconds.
    pub all_member_s: Vec<f64>,
}

fn list(values: impl Iterator<Item = f64>) -> String {
    values
        .map(|v| format!("{v:.6}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// The `runs.csv` line of `cell`'s run (without its newline).
pub fn run_line(cell: &Cell, r: &RunReport) -> String {
    let firsts = r.crashes.iter().filter_map(|c| c.first_detection_s);
    let alls = r.crashes.iter().filter_map(|c| c.all_member_s);
    let seen_by_all = r
        .crashes
        .iter()
        .filter(|c| c.all_member_s.is_some())
        .count();
    let all_max = (seen_by_all == r.crashes.len())
        .then(|| alls.clone().reduce(f64::max))
        .flatten();
    let window = cell.scenario.duration.saturating_sub(cell.scenario.warmup);
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.1},{:.1},{:.1},{:.3},{:.3},{},{}",
        cell.key(),
        cell.detector,
        r.crashes.len(),
        seen_by_all,
        opt(firsts.clone().reduce(f64::max)),
        opt(all_max),
        r.false_positives,
        r.false_positive_marks,
        r.pauses,
        r.pause_false_positives,
        r.pause_false_positive_marks,
        r.suspicions_raised,
        r.rejoins,
        r.messages_per_node_s,
        r.bytes_per_node_s,
        r.bytes_per_node_s + IP_UDP_HEADERS * r.messages_per_node_s,
        r.max_bytes_per_node_s,
        window.as_secs_f64(),
        r.wall_time_s.unwrap_or(0.0),
        list(firsts),
        list(alls),
    )
}

/// Parses `runs.csv`; the error names the line that is wrong.
pub fn parse_runs(text: &str) -> Result<Vec<RunRow>, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h == RUNS_HEADER => {}
        Some(_) => return Err("runs.csv has other columns than this version writes".into()),
        None => return Ok(Vec::new()),
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_row(l).map_err(|e| format!("runs.csv line {}: {e}", i + 2)))
        .collect()
}

fn parse_row(line: &str) -> Result<RunRow, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != RUNS_HEADER.split(',').count() {
        return Err(format!("{} fields", f.len()));
    }
    fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
        s.parse()
            .map_err(|_| format!("{what} {s:?} is not a number"))
    }
    let floats = |s: &str| -> Result<Vec<f64>, String> {
        s.split(';')
            .filter(|x| !x.is_empty())
            .map(|x| num(x, "latency"))
            .collect()
    };
    Ok(RunRow {
        key: f[..6].join(","),
        system: f[0].to_owned(),
        period_s: if f[1].is_empty() {
            None
        } else {
            Some(num(f[1], "period_s")?)
        },
        nodes: num(f[2], "nodes")?,
        loss: num(f[3], "loss")?,
        pause: f[4].to_owned(),
        detector: f[6].to_owned(),
        crashes: num(f[7], "crashes")?,
        crashes_seen_by_all: num(f[8], "crashes_seen_by_all")?,
        false_positives: num(f[11], "false_positives")?,
        pauses: num(f[13], "pauses")?,
        pause_false_positives: num(f[14], "pause_false_positives")?,
        suspicions_raised: num(f[16], "suspicions_raised")?,
        rejoins: num(f[17], "rejoins")?,
        messages_per_node_s: num(f[18], "messages_per_node_s")?,
        bytes_per_node_s: num(f[19], "bytes_per_node_s")?,
        ip_bytes_per_node_s: num(f[20], "ip_bytes_per_node_s")?,
        window_s: num(f[22], "window_s")?,
        wall_s: num(f[23], "wall_s")?,
        first_detection_s: floats(f[24])?,
        all_member_s: floats(f[25])?,
    })
}

/// One cell of the grid over its seeds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CellSummary {
    /// System label.
    pub system: String,
    /// Period in seconds, if varied.
    pub period_s: Option<f64>,
    /// Cluster size.
    pub nodes: usize,
    /// Receiver-side drop.
    pub loss: f64,
    /// Pause pattern or `none`.
    pub pause: String,
    /// Detector.
    pub detector: String,
    /// Runs (seeds).
    pub runs: usize,
    /// Crashes over the runs.
    pub crashes: usize,
    /// Of them, seen by every required observer.
    pub crashes_seen_by_all: usize,
    /// First detection, over all crashes.
    pub first_detection: Option<Spread>,
    /// All-member detection, over the crashes seen by all.
    pub all_member: Option<Spread>,
    /// Distinct false positives, summed over runs.
    pub false_positives: usize,
    /// False positives per node per hour of measurement window.
    pub false_positives_per_node_hour: f64,
    /// Pauses over the runs.
    pub pauses: u64,
    /// Paused members declared failed, over the runs.
    pub pause_false_positives: usize,
    /// Suspicions raised, per run.
    pub suspicions_raised_per_run: f64,
    /// Rejoins, per run.
    pub rejoins_per_run: f64,
    /// Mean messages per node per second.
    pub messages_per_node_s: f64,
    /// Mean encoded bytes per node per second.
    pub bytes_per_node_s: f64,
    /// Mean bytes per node per second with IP and UDP headers.
    pub ip_bytes_per_node_s: f64,
    /// Wall-clock seconds, summed.
    pub wall_s: f64,
}

impl CellSummary {
    /// Paused members declared failed per pause (0 without pauses).
    pub fn paused_declared_share(&self) -> f64 {
        if self.pauses == 0 {
            0.0
        } else {
            self.pause_false_positives as f64 / self.pauses as f64
        }
    }

    /// The series a plot draws it in: the system, and its period when varied.
    pub fn series(&self) -> String {
        match self.period_s {
            Some(p) => format!(
                "{} {}",
                self.system,
                humantime::format_duration(std::time::Duration::from_secs_f64(p))
            ),
            None => self.system.clone(),
        }
    }
}

/// Groups rows by cell (seed aside), in a stable order.
pub fn summarize(rows: &[RunRow]) -> Vec<CellSummary> {
    let mut cells: BTreeMap<String, Vec<&RunRow>> = BTreeMap::new();
    for row in rows {
        let cell = row
            .key
            .rsplit_once(',')
            .map_or(row.key.as_str(), |(c, _)| c);
        cells.entry(cell.to_owned()).or_default().push(row);
    }
    cells
        .into_values()
        .map(|rows| {
            let r0 = rows[0];
            let n = rows.len() as f64;
            let mean = |f: fn(&RunRow) -> f64| rows.iter().map(|r| f(r)).sum::<f64>() / n;
            let node_hours: f64 = rows
                .iter()
                .map(|r| r.nodes as f64 * r.window_s / 3600.0)
                .sum();
            let false_positives = rows.iter().map(|r| r.false_positives).sum::<usize>();
            CellSummary {
                system: r0.system.clone(),
                period_s: r0.period_s,
                nodes: r0.nodes,
                loss: r0.loss,
                pause: r0.pause.clone(),
                detector: r0.detector.clone(),
                runs: rows.len(),
                crashes: rows.iter().map(|r| r.crashes).sum(),
                crashes_seen_by_all: rows.iter().map(|r| r.crashes_seen_by_all).sum(),
                first_detection: Spread::of(rows.iter().flat_map(|r| r.first_detection_s.clone())),
                all_member: Spread::of(rows.iter().flat_map(|r| r.all_member_s.clone())),
                false_positives,
                false_positives_per_node_hour: if node_hours > 0.0 {
                    false_positives as f64 / node_hours
                } else {
                    0.0
                },
                pauses: rows.iter().map(|r| r.pauses).sum(),
                pause_false_positives: rows.iter().map(|r| r.pause_false_positives).sum(),
                suspicions_raised_per_run: mean(|r| r.suspicions_raised as f64),
                rejoins_per_run: mean(|r| r.rejoins as f64),
                messages_per_node_s: mean(|r| r.messages_per_node_s),
                bytes_per_node_s: mean(|r| r.bytes_per_node_s),
                ip_bytes_per_node_s: mean(|r| r.ip_bytes_per_node_s),
                wall_s: rows.iter().map(|r| r.wall_s).sum(),
            }
        })
        .collect()
}

/// `summary.md`: the summary as a Markdown table, for documents.
pub fn summary_markdown(cells: &[CellSummary]) -> String {
    let mut out = String::from(
        "| system | period | nodes | loss | pause | runs | crashes seen by all | first p50 (s) | all-member p50 (s) | all-member p99 (s) | false positives | paused declared failed | suspicions raised / run | rejoins / run | B/node/s | with IP headers |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let secs = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}"));
    for c in cells {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}% | {} | {} | {}/{} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.0} |",
            c.system,
            c.period_s
                .map_or_else(|| "preset".to_owned(), |p| format!("{p}s")),
            c.nodes,
            c.loss * 100.0,
            c.pause,
            c.runs,
            c.crashes_seen_by_all,
            c.crashes,
            secs(c.first_detection.map(|s| s.median)),
            secs(c.all_member.map(|s| s.median)),
            secs(c.all_member.map(|s| s.p99)),
            c.false_positives,
            if c.pauses == 0 {
                "–".to_owned()
            } else {
                format!("{}/{}", c.pause_false_positives, c.pauses)
            },
            c.suspicions_raised_per_run,
            c.rejoins_per_run,
            c.bytes_per_node_s,
            c.ip_bytes_per_node_s,
        );
    }
    out
}

/// `summary.csv`.
pub fn summary_csv(cells: &[CellSummary]) -> String {
    let mut out = format!("{SUMMARY_HEADER}\n");
    for c in cells {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{},{},{:.3},{:.1},{:.2},{:.2},{:.1},{:.1},{:.2}",
            c.system,
            opt(c.period_s),
            c.nodes,
            c.loss,
            c.pause,
            c.detector,
            c.runs,
            c.crashes,
            c.crashes_seen_by_all,
            opt(c.first_detection.map(|s| s.median)),
            opt(c.all_member.map(|s| s.median)),
            opt(c.all_member.map(|s| s.p99)),
            opt(c.all_member.map(|s| s.max)),
            c.false_positives,
            c.false_positives_per_node_hour,
            c.pauses,
            c.pause_false_positives,
            c.paused_declared_share(),
            c.suspicions_raised_per_run,
            c.rejoins_per_run,
            c.messages_per_node_s,
            c.bytes_per_node_s,
            c.ip_bytes_per_node_s,
            c.wall_s,
        );
    }
    out
}
