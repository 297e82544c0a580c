//! `rumor-sim sweep`: the sweep's flags, on top of an optional sweep file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rumor_membership::DetectorRegistry;

use crate::SimError;
use crate::scenario::Bootstrap;
use crate::sweep::{SweepOptions, SweepSpec, System, sweep};

/// Runs a grid of simulations on every core and writes runs.csv,
/// summary.csv and plots (SVG and PNG) to the output directory; a sweep
/// started again with the same directory skips the runs already there.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct SweepArgs {
    /// A TOML sweep file (see crates/sim/README.md); flags override it.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output directory (default: the file's `out`, else sweep-out).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Systems, comma-separated: gossip, swim, phi, all-to-all, foca (LAN
    /// preset), foca-wan, foca-matched (swim's timing). Replaces the file's.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub detectors: Vec<String>,
    /// Periods each system runs at (probe interval, heartbeat, foca's probe
    /// period), comma-separated humantime; replaces every system's.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = humantime::parse_duration)]
    pub periods: Vec<Duration>,
    /// Cluster sizes, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub nodes: Vec<usize>,
    /// Receiver-side loss rates, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub loss: Vec<f64>,
    /// Pause patterns K:DUR:EVERY or none, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub pause: Vec<String>,
    /// Seeds per cell.
    #[arg(long, value_name = "N")]
    pub seeds: Option<u64>,
    /// The first seed.
    #[arg(long, value_name = "S")]
    pub first_seed: Option<u64>,
    /// Virtual time of each run.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// When the crashes come and measurement starts.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub warmup: Option<Duration>,
    /// Nodes that crash at the end of warm-up in every run.
    #[arg(long, value_name = "K")]
    pub fail: Option<usize>,
    /// How clusters form (default converged).
    #[arg(long, value_enum)]
    pub bootstrap: Option<Bootstrap>,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Skip the plots.
    #[arg(long)]
    pub no_plots: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl SweepArgs {
    /// The sweep the file and flags describe.
    pub fn spec(&self) -> Result<SweepSpec, SimError> {
        let mut spec = match &self.file {
            Some(path) => SweepSpec::from_file(path)?,
            None => SweepSpec::default(),
        };
        if !self.detectors.is_empty() {
            spec.systems = self.detectors.iter().map(|d| System::named(d)).collect();
        }
        if !self.periods.is_empty() {
            for system in &mut spec.systems {
                system.periods = self.periods.clone();
            }
        }
        for (flag, field) in [(&self.nodes, &mut spec.nodes)] {
            if !flag.is_empty() {
                *field = flag.clone();
            }
        }
        if !self.loss.is_empty() {
            if let Some(p) = self.loss.iter().find(|p| !(0.0..=1.0).contains(*p)) {
                return Err(SimError::Invalid(format!(
                    "loss {p} is not a probability in [0, 1]"
                )));
            }
            spec.loss = self.loss.clone();
        }
        if !self.pause.is_empty() {
            spec.pause = self.pause.clone();
        }
        macro_rules! set {
            ($($flag:ident => $field:expr),* $(,)?) => {
                $(if let Some(v) = self.$flag { $field = v; })*
            };
        }
        set! {
            seeds => spec.seeds, first_seed => spec.first_seed, duration => spec.duration,
            warmup => spec.warmup, fail => spec.fail, bootstrap => spec.bootstrap,
        }
        Ok(spec)
    }

    /// Runs the sweep; returns what to print.
    pub fn execute(&self, registry: &DetectorRegistry) -> Result<String, SimError> {
        let spec = self.spec()?;
        let out = self
            .out
            .clone()
            .or_else(|| spec.out.as_ref().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("sweep-out"));
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        if threads == 0 {
            return Err(SimError::Invalid("--threads must be at least 1".into()));
        }
        let options = SweepOptions {
            out,
            threads,
            plots: !self.no_plots,
            progress: !self.quiet,
        };
        let done = sweep(&spec, registry, &options)?;
        let mut text = String::new();
        let _ = writeln!(
            text,
            "sweep: {} runs in the grid, {} run now, {} already in runs.csv; {:.1} s on {} threads",
            done.cells, done.ran, done.skipped, done.wall_s, options.threads
        );
        let _ = writeln!(
            text,
            "{:<14}{:>8}{:>7}{:>6}{:>14}{:>10}{:>10}{:>6}{:>10}{:>10}",
            "system",
            "period",
            "nodes",
            "loss",
            "pause",
            "p50 (s)",
            "p99 (s)",
            "FP",
            "B/node/s",
            "wall (s)"
        );
        for c in &done.summary {
            let secs = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
            let _ = writeln!(
                text,
                "{:<14}{:>8}{:>7}{:>6}{:>14}{:>10}{:>10}{:>6}{:>10.0}{:>10.1}",
                c.system,
                c.period_s
                    .map_or_else(|| "-".to_owned(), |p| format!("{p}s")),
                c.nodes,
                c.loss,
                c.pause,
                secs(c.all_member.map(|s| s.median)),
                secs(c.all_member.map(|s| s.p99)),
                c.false_positives,
                c.bytes_per_node_s,
                c.wall_s,
            );
        }
        for f in &done.files {
            let _ = writeln!(text, "wrote {}", f.display());
        }
        Ok(text)
    }
}
