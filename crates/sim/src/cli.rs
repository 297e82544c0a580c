//! The `rumor-sim` command line: flags, or a scenario file with flags on top.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;
use rumor_membership::{Config, DetectorRegistry};

use crate::foca_node::FocaPreset;
use crate::output::Report;
use crate::pause::PauseSpec;
use crate::scenario::{Bootstrap, Scenario, one_line};
use crate::simulation::{RunOptions, run};
use crate::sweep_cli::SweepArgs;
use crate::{SimError, event_log};

/// Simulates a rumor cluster on a virtual clock and reports failure-detection
/// latency, false positives, partition healing and bandwidth.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "rumor-sim",
    version,
    about,
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
#[non_exhaustive]
pub struct Cli {
    /// `sweep`: a grid of runs (see `rumor-sim sweep --help`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Cluster size.
    #[arg(long, value_name = "N", required_unless_present = "scenario")]
    pub nodes: Option<usize>,
    /// Failure detector: gossip, swim, phi, any other the binary registered
    /// (see the README), or foca (the foca crate's SWIM, driven on the same
    /// clock and network).
    #[arg(long, value_name = "NAME", required_unless_present = "scenario")]
    pub detector: Option<String>,
    /// foca: the preset its configuration starts from (default lan).
    #[arg(long, value_enum, value_name = "PRESET")]
    pub foca_preset: Option<FocaPreset>,
    /// foca: probe period, probe timeout and suspicion timeout as rumor's
    /// swim has them (probe_interval, probe_timeout, t_suspect).
    #[arg(long)]
    pub match_timing: bool,
    /// foca: another probe period; the preset's other timings scale with it.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub foca_period: Option<Duration>,
    /// Receiver-side drop probability, 0 to 1 (default 0).
    #[arg(long, value_name = "P", value_parser = probability)]
    pub loss: Option<f64>,
    /// Nodes (never node 0) that crash together once the cluster has warmed up.
    #[arg(long, value_name = "K")]
    pub fail: Option<usize>,
    /// Nodes (never node 0) that leave voluntarily once the cluster has warmed up.
    #[arg(long, value_name = "K")]
    pub leave: Option<usize>,
    /// Virtual time of each run (humantime; default 30s).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Seed of the first run (default 1).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Runs with seeds S, S+1, ...; the report aggregates them (default 1).
    #[arg(long, visible_alias = "seeds", value_name = "N")]
    pub runs: Option<u64>,
    /// When --fail and --leave act and traffic measurement begins (default 10s).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub warmup: Option<Duration>,
    /// Nodes other than node 0 start at random times within this window (default 2s).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub join_window: Option<Duration>,
    /// How the cluster forms: staggered joins only (default), or a
    /// member-list sync with the introducer after the join window (for large clusters).
    #[arg(long, value_enum)]
    pub bootstrap: Option<Bootstrap>,
    /// One-way base latency (default 500us).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub latency: Option<Duration>,
    /// Random extra latency per message, uniform (default 500us).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub jitter: Option<Duration>,
    /// K nodes (a count, or a share such as 1%) pause for DUR every EVERY from
    /// the end of warm-up on, e.g. 1%:1s:5s; never node 0, nor a node that
    /// crashes or leaves.
    #[arg(long, value_name = "K:DUR:EVERY", value_parser = pause_spec)]
    pub pause: Option<PauseSpec>,
    /// In-transit datagram loss probability, 0 to 1, on top of --loss (default 0).
    #[arg(long, value_name = "P", value_parser = probability)]
    pub net_loss: Option<f64>,
    /// A TOML scenario file (timed crashes, restarts, leaves, partitions...);
    /// flags given as well override its values.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// A TOML file of membership settings (rumor_membership::Config keys).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per run.
    #[arg(long)]
    pub csv: bool,
    /// Leave wall-clock time out of the report (byte-identical output per seed).
    #[arg(long)]
    pub no_wall_time: bool,
    /// Write the first run's events to FILE in the events.jsonl format.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// A grid of runs on every core: runs.csv, summary.csv and plots.
    Sweep(SweepArgs),
}

fn pause_spec(text: &str) -> Result<PauseSpec, String> {
    text.parse()
}

fn probability(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability in [0, 1]"))
    }
}

impl Cli {
    /// The scenario the flags describe.
    pub fn scenario(&self) -> Result<Scenario, SimError> {
        let mut s = match &self.scenario {
            Some(path) => Scenario::from_file(path)?,
            None => Scenario::default(),
        };
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
                path: path.clone(),
                source,
            })?;
            s.config = toml::from_str::<Config>(&text).map_err(|e| SimError::Toml {
                path: path.clone(),
                message: one_line(&e.to_string()),
            })?;
        }
        macro_rules! set {
            ($($flag:ident => $field:expr),* $(,)?) => {
                $(if let Some(v) = self.$flag.clone() { $field = v; })*
            };
        }
        set! {
            nodes => s.nodes, loss => s.loss, fail => s.fail, leave => s.leave,
            duration => s.duration, seed => s.seed, runs => s.runs, warmup => s.warmup,
            join_window => s.join_window, bootstrap => s.bootstrap, latency => s.network.latency,
            jitter => s.network.jitter, net_loss => s.network.loss,
        }
        if let Some(pause) = self.pause {
            s.pause = Some(pause);
        }
        if let Some(d) = &self.detector {
            s.detector = Some(d.clone());
        }
        if let Some(preset) = self.foca_preset {
            s.foca.preset = preset;
        }
        if self.match_timing {
            s.foca.match_timing = true;
        }
        if let Some(period) = self.foca_period {
            s.foca.probe_period = Some(period);
        }
        s.validate()?;
        Ok(s)
    }

    /// Runs every seed and renders the report in the format asked for.
    pub fn execute(&self, registry: &DetectorRegistry) -> Result<String, SimError> {
        if let Some(Command::Sweep(sweep)) = &self.command {
            return sweep.execute(registry);
        }
        let scenario = self.scenario()?;
        let mut runs = Vec::new();
        for i in 0..scenario.runs {
            let seed = scenario.seed.wrapping_add(i);
            let options = RunOptions::default()
                .with_events(i == 0 && self.events.is_some())
                .with_wall_time(!self.no_wall_time);
            let outcome = run(&scenario, seed, registry, options)?;
            if let (Some(path), true) = (&self.events, options.record_events) {
                std::fs::write(path, event_log::to_jsonl(&outcome.events)).map_err(|source| {
                    SimError::Write {
                        path: path.clone(),
                        source,
                    }
                })?;
            }
            runs.push(outcome.report);
        }
        let report = Report::new(&scenario, runs);
        Ok(if self.json {
            report.to_json()
        } else if self.csv {
            report.to_csv()
        } else {
            report.to_table()
        })
    }
}

/// The whole command line with the detectors of `registry`: parses the
/// process's arguments, runs, prints the report. Bad flags print one line
/// and give exit code 2; a run that cannot start prints one line and
/// gives 1. A binary that adds detectors of its own calls this from `main`.
pub fn cli_main(registry: &DetectorRegistry) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: the error itself, without clap's tips and usage block.
            let text = e.render().to_string();
            let line = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more"))
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("rumor-sim: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match cli.execute(registry) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rumor-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
