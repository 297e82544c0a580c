//! `rumor-sim sweep`: a grid of runs on every core, with a progress bar,
//! resumable, written as CSV and drawn as plots.
//!
//! Cells are run by worker threads, largest first; each finished run is
//! appended to `runs.csv` at once, so a sweep stopped half-way and started
//! again with the same output directory runs only the cells whose rows are
//! missing. At the end `summary.csv` (and `summary.md`, the same as a
//! Markdown table) aggregates every cell of the grid over its seeds, and
//! the plots are drawn from the rows (see the `plots` module).

mod chart;
mod plots;
mod rows;
mod spec;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rumor_membership::DetectorRegistry;

use crate::simulation::{RunOptions, check_detector, run};
use crate::{SimError, foca_node};
pub use rows::{CellSummary, IP_UDP_HEADERS, RUNS_HEADER, RunRow, SUMMARY_HEADER, parse_runs};
pub use spec::{Cell, SweepSpec, System};

/// How a sweep runs, beside what it runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SweepOptions {
    /// The output directory (created if missing).
    pub out: PathBuf,
    /// Worker threads.
    pub threads: usize,
    /// Draw the plots.
    pub plots: bool,
    /// Show the progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

impl SweepOptions {
    /// Writes into `out` with `threads` workers, plots drawn, no progress
    /// bar.
    pub fn new(out: PathBuf, threads: usize) -> SweepOptions {
        SweepOptions {
            out,
            threads,
            plots: true,
            progress: false,
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SweepOutcome {
    /// Cells of the grid.
    pub cells: usize,
    /// Runs done now.
    pub ran: usize,
    /// Runs skipped: their rows were in `runs.csv` already.
    pub skipped: usize,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// The files written: runs.csv, summary.csv, then the plots (without
    /// extension: each is an .svg and a .png).
    pub files: Vec<PathBuf>,
    /// The per-cell aggregates.
    pub summary: Vec<CellSummary>,
}

/// Runs `spec` (the cells `runs.csv` in the output directory lacks) and
/// writes the summary and plots.
pub fn sweep(
    spec: &SweepSpec,
    registry: &DetectorRegistry,
    options: &SweepOptions,
) -> Result<SweepOutcome, SimError> {
    let started = Instant::now();
    let cells = spec.cells()?;
    for cell in &cells {
        if cell.detector != foca_node::NAME {
            check_detector(registry, &cell.detector, &cell.scenario.config)?;
        }
    }
    std::fs::create_dir_all(&options.out).map_err(|source| SimError::Write {
        path: options.out.clone(),
        source,
    })?;
    let runs_path = options.out.join("runs.csv");
    let done: HashSet<String> = read_rows(&runs_path)?.into_iter().map(|r| r.key).collect();
    if !runs_path.exists() {
        write_file(&runs_path, format!("{RUNS_HEADER}\n").as_bytes())?;
    }
    let mut todo: Vec<&Cell> = cells.iter().filter(|c| !done.contains(&c.key())).collect();
    todo.sort_by_key(|c| std::cmp::Reverse(c.cost()));
    let skipped = cells.len() - todo.len();
    run_cells(&todo, registry, options, &runs_path)?;

    let keys: HashSet<String> = cells.iter().map(Cell::key).collect();
    let rows: Vec<RunRow> = read_rows(&runs_path)?
        .into_iter()
        .filter(|r| keys.contains(&r.key))
        .collect();
    let summary = rows::summarize(&rows);
    let summary_path = options.out.join("summary.csv");
    write_file(&summary_path, rows::summary_csv(&summary).as_bytes())?;
    let markdown_path = options.out.join("summary.md");
    write_file(&markdown_path, rows::summary_markdown(&summary).as_bytes())?;
    let mut files = vec![runs_path, summary_path, markdown_path];
    if options.plots {
        files.extend(plots::draw_all(&options.out, &rows, &summary)?);
    }
    Ok(SweepOutcome {
        cells: cells.len(),
        ran: todo.len(),
        skipped,
        wall_s: started.elapsed().as_secs_f64(),
        files,
        summary,
    })
}

/// Runs `todo` on `options.threads` workers, appending each row to
/// `runs` as it comes; the first failure stops the sweep.
fn run_cells(
    todo: &[&Cell],
    registry: &DetectorRegistry,
    options: &SweepOptions,
    runs: &Path,
) -> Result<(), SimError> {
    let total: u64 = todo.iter().map(|c| c.cost()).sum();
    let target = if options.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {percent:>3}% ETA {eta_precise} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(runs)
        .map_err(|source| SimError::Write {
            path: runs.to_owned(),
            source,
        })?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let workers = options.threads.clamp(1, todo.len().max(1));
    let mut failure = None;
    let mut finished = 0;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cell) = todo.get(i) else { break };
                    let options = RunOptions::default().with_wall_time(true);
                    let outcome = run(&cell.scenario, cell.seed, registry, options);
                    if tx.send((i, outcome.map(|o| o.report))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, outcome) in rx {
            let cell = todo[i];
            let line = outcome.and_then(|report| {
                let line = rows::run_line(cell, &report);
                writeln!(file, "{line}").map_err(|source| SimError::Write {
                    path: runs.to_owned(),
                    source,
                })
            });
            if let Err(e) = line {
                stop.store(true, Ordering::Relaxed);
                failure.get_or_insert(e);
                continue;
            }
            finished += 1;
            bar.inc(cell.cost());
            bar.set_message(format!("{finished}/{} {}", todo.len(), cell.key()));
        }
    });
    bar.finish_and_clear();
    failure.map_or(Ok(()), Err)
}

fn read_rows(path: &Path) -> Result<Vec<RunRow>, SimError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            parse_runs(&text).map_err(|m| SimError::Invalid(format!("{}: {m}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(SimError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::write(path, bytes).map_err(|source| SimError::Write {
        path: path.to_owned(),
        source,
    })
}
