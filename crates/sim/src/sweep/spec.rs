//! What a sweep runs: a grid over systems (a detector, or foca, with its
//! settings and a list of periods), cluster sizes, loss rates, pause
//! patterns and seeds, from a TOML file and/or flags; expanded into cells,
//! each one scenario and seed.
//!
//! ```toml
//! nodes = [100, 1000]
//! loss = [0.0, 0.05, 0.1]
//! pause = ["none", "1%:1s:5s"]
//! seeds = 3                  # seeds first_seed ..= first_seed + 2
//! duration = "60s"
//! warmup = "10s"
//! fail = 3
//! bootstrap = "converged"
//! [config]                   # rumor_membership::Config for every system
//! t_suspect = "1500ms"
//! [[systems]]
//! label = "swim"
//! detector = "swim"
//! periods = ["100ms", "200ms", "500ms"]   # probe_interval (probe_timeout 0.4 of it)
//! [[systems]]
//! label = "foca-lan"
//! detector = "foca"
//! periods = ["250ms", "500ms", "1s"]      # foca's probe period, its preset scaled
//! foca = { preset = "lan" }
//! ```

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::foca_node::{self, FocaPreset, FocaSettings};
use crate::pause::PauseSpec;
use crate::scenario::{Bootstrap, Scenario, one_line};

/// One system of the grid: a detector with its settings, and the periods
/// it is run at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct System {
    /// The name its rows and plot series carry.
    pub label: String,
    /// The detector: a registered rumor detector, or `foca`.
    pub detector: String,
    /// The detector's period, one cell each: swim's `probe_interval` (its
    /// `probe_timeout` 0.4 of it), gossip's `heartbeat` (its `t_fail` five
    /// of it), phi's and all-to-all's `heartbeat`, foca's probe period (its
    /// preset's timeout, suspicion and gossip interval scaled; with
    /// `match_timing`, swim's `probe_interval` as for swim). Empty: the
    /// defaults only.
    #[serde(default, with = "humantime_list")]
    pub periods: Vec<Duration>,
    /// rumor_membership::Config keys for this system, over the sweep's.
    #[serde(default)]
    pub config: toml::Table,
    /// foca's settings, when the detector is `foca`.
    #[serde(default)]
    pub foca: FocaSettings,
}

impl System {
    /// The system a `--detectors` name stands for: a detector under its own
    /// name; `foca` (the LAN preset), `foca-wan`, `foca-matched` (swim's
    /// timing).
    pub fn named(name: &str) -> System {
        let mut system = System {
            label: name.to_owned(),
            detector: name.to_owned(),
            periods: Vec::new(),
            config: toml::Table::new(),
            foca: FocaSettings::default(),
        };
        match name {
            "foca-wan" => {
                system.detector = foca_node::NAME.into();
                system.foca.preset = FocaPreset::Wan;
            }
            "foca-matched" => {
                system.detector = foca_node::NAME.into();
                system.foca.match_timing = true;
            }
            _ => {}
        }
        system
    }
}

/// A sweep: every combination of its lists, each seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SweepSpec {
    /// Where rows, summaries and plots go, unless `--out` says otherwise
    /// (relative to the working directory).
    pub out: Option<String>,
    /// The systems.
    pub systems: Vec<System>,
    /// Cluster sizes.
    pub nodes: Vec<usize>,
    /// Receiver-side drop probabilities.
    pub loss: Vec<f64>,
    /// Pause patterns (`K:DUR:EVERY`), or `none`.
    pub pause: Vec<String>,
    /// Seeds per cell.
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
    /// Virtual time of each run.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// When the crashes come and measurement starts.
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    /// Nodes that crash at `warmup` in every run.
    pub fail: usize,
    /// How clusters form.
    pub bootstrap: Bootstrap,
    /// rumor_membership::Config keys for every system.
    pub config: toml::Table,
}

impl Default for SweepSpec {
    fn default() -> Self {
        SweepSpec {
            out: None,
            systems: Vec::new(),
            nodes: vec![100],
            loss: vec![0.0],
            pause: vec!["none".into()],
            seeds: 3,
            first_seed: 1,
            duration: Duration::from_secs(60),
            warmup: Duration::from_secs(10),
            fail: 3,
            bootstrap: Bootstrap::Converged,
            config: toml::Table::new(),
        }
    }
}

/// One run of a sweep.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Cell {
    /// The system's label.
    pub system: String,
    /// The detector.
    pub detector: String,
    /// The period, when the system has a list of them.
    pub period: Option<Duration>,
    /// Cluster size.
    pub nodes: usize,
    /// Receiver-side drop.
    pub loss: f64,
    /// The pause pattern, if any.
    pub pause: Option<PauseSpec>,
    /// The seed.
    pub seed: u64,
    /// The scenario it runs.
    pub scenario: Scenario,
}

impl Cell {
    /// What identifies the cell in `runs.csv`: the first seven columns.
    pub fn key(&self) -> String {
        key(
            &self.system,
            self.period,
            self.nodes,
            self.loss,
            self.pause.as_ref(),
            self.seed,
        )
    }

    /// A rough cost for the progress bar: node-seconds of virtual time.
    pub fn cost(&self) -> u64 {
        self.nodes as u64 * self.scenario.duration.as_secs().max(1)
    }
}

/// The key of a row: system, period, nodes, loss, pause and seed as
/// `runs.csv` writes them.
pub fn key(
    system: &str,
    period: Option<Duration>,
    nodes: usize,
    loss: f64,
    pause: Option<&PauseSpec>,
    seed: u64,
) -> String {
    format!(
        "{system},{},{nodes},{loss},{},{seed}",
        period
            .map(|p| p.as_secs_f64().to_string())
            .unwrap_or_default(),
        pause.map_or_else(|| "none".to_owned(), PauseSpec::to_string),
    )
}

impl SweepSpec {
    /// Reads a sweep file.
    pub fn from_file(path: &Path) -> Result<SweepSpec, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SimError::Toml {
            path: path.to_owned(),
            message: one_line(&e.to_string()),
        })
    }

    /// Every cell of the grid, each checked; in grid order.
    pub fn cells(&self) -> Result<Vec<Cell>, SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if self.systems.is_empty() {
            return bad("the sweep names no system (--detectors or [[systems]])".into());
        }
        if self.nodes.is_empty() || self.loss.is_empty() || self.pause.is_empty() {
            return bad("nodes, loss and pause each need at least one value".into());
        }
        if self.seeds == 0 {
            return bad("seeds must be at least 1".into());
        }
        let pauses = self
            .pause
            .iter()
            .map(|p| match p.as_str() {
                "none" => Ok(None),
                text => text.parse().map(Some).map_err(SimError::Invalid),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut labels = std::collections::HashSet::new();
        let mut cells = Vec::new();
        for system in &self.systems {
            if !labels.insert(system.label.as_str()) || system.label.contains(',') {
                return bad(format!(
                    "system label {:?} is repeated or has a comma",
                    system.label
                ));
            }
            let periods: Vec<Option<Duration>> = if system.periods.is_empty() {
                vec![None]
            } else {
                system.periods.iter().copied().map(Some).collect()
            };
            for &period in &periods {
                for &nodes in &self.nodes {
                    for &loss in &self.loss {
                        for pause in &pauses {
                            let scenario = self.scenario(system, period, nodes, loss, *pause)?;
                            for i in 0..self.seeds {
                                cells.push(Cell {
                                    system: system.label.clone(),
                                    detector: system.detector.clone(),
                                    period,
                                    nodes,
                                    loss,
                                    pause: *pause,
                                    seed: self.first_seed + i,
                                    scenario: scenario.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(cells)
    }

    fn scenario(
        &self,
        system: &System,
        period: Option<Duration>,
        nodes: usize,
        loss: f64,
        pause: Option<PauseSpec>,
    ) -> Result<Scenario, SimError> {
        let mut table = self.config.clone();
        table.extend(system.config.clone());
        let mut foca = system.foca.clone();
        if let Some(p) = period {
            if p.is_zero() {
                return Err(SimError::Invalid(format!(
                    "{}: a period must be positive",
                    system.label
                )));
            }
            let text = |d: Duration| toml::Value::String(humantime::format_duration(d).to_string());
            let foca_own = system.detector == foca_node::NAME && !foca.match_timing;
            match system.detector.as_str() {
                _ if foca_own => foca.probe_period = Some(p),
                "swim" | "foca" => {
                    table.insert("probe_interval".into(), text(p));
                    table.insert("probe_timeout".into(), text(p.mul_f64(0.4)));
                }
                "gossip" => {
                    table.insert("heartbeat".into(), text(p));
                    table.insert("t_fail".into(), text(p * 5));
                }
                _ => {
                    table.insert("heartbeat".into(), text(p));
                }
            }
        }
        let config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                SimError::Invalid(format!(
                    "{}: config: {}",
                    system.label,
                    one_line(&e.to_string())
                ))
            })?;
        let scenario = Scenario {
            nodes,
            detector: Some(system.detector.clone()),
            duration: self.duration,
            warmup: self.warmup,
            fail: self.fail,
            bootstrap: self.bootstrap,
            loss,
            pause,
            config,
            foca,
            ..Scenario::default()
        };
        scenario
            .validate()
            .map_err(|e| SimError::Invalid(format!("{} at {nodes} nodes: {e}", system.label)))?;
        Ok(scenario)
    }
}

/// A list of humantime durations in TOML (`["100ms", "1s"]`).
mod humantime_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            list.iter()
                .map(|d| humantime::format_duration(*d).to_string()),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| humantime::parse_duration(t).map_err(serde::de::Error::custom))
            .collect()
    }
}
