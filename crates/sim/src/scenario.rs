//! What a run does: cluster size, detector, faults and when they happen.
//!
//! A scenario comes from command-line flags or from a small TOML file:
//!
//! ```toml
//! nodes = 10
//! detector = "swim"
//! duration = "40s"
//! loss = 0.1              # receiver-side drop probability
//!
//! [network]
//! latency = "1ms"
//! jitter = "2ms"
//!
//! [config]                # rumor_membership::Config overrides
//! fanout = 3
//!
//! [foca]                  # when detector = "foca"
//! preset = "lan"          # or "wan"
//! match_timing = false    # true: probe period, timeout, suspicion from [config]
//!
//! [[actions]]
//! at = "10s"
//! action = "partition"    # crash | restart | leave | partition | isolate | flap | heal | set-loss
//! nodes = [0, 1, 2]       # one side; `to` is the other (default: every other node)
//! for = "5s"              # optional: heal by itself after this long
//!
//! [[actions]]
//! at = "20s"
//! action = "flap"         # cut for period_on, heal for period_off, `times` times
//! nodes = [3]
//! period_on = "10s"
//! period_off = "5s"
//! times = 3
//!
//! [[actions]]
//! at = "60s"
//! action = "heal"
//! ```

use std::path::Path;
use std::time::Duration;

use rumor_membership::Config;
use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::action::{Action, ActionSpec, check_probability};
use crate::foca_node::FocaSettings;
use crate::pause::PauseSpec;

/// Linux's default socket receive buffer (`net.core.rmem_default`), bytes.
pub const DEFAULT_RECEIVE_BUFFER: usize = 212_992;
use crate::network::NetworkConfig;
use crate::rng::{DetRng, derive_seed, stream};

/// Everything a run needs besides its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Scenario {
    /// Cluster size. Node 0 starts the cluster; every node is given nodes
    /// 0, 1 and 2 as introducers and seeds.
    pub nodes: usize,
    /// Failure detector by registered name; when absent, `gossip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<String>,
    /// Seed of the first run.
    pub seed: u64,
    /// Runs, with seeds `seed, seed + 1, ...`; results are aggregated.
    pub runs: u64,
    /// Virtual time each run lasts.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Nodes other than node 0 start at random times in `[0, join_window]`.
    #[serde(with = "humantime_serde")]
    pub join_window: Duration,
    /// When the cluster is considered settled: `fail` and `leave` act then,
    /// and traffic is measured from then on.
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    /// How the cluster forms: see [`Bootstrap`].
    pub bootstrap: Bootstrap,
    /// Receiver-side drop probability (every datagram, every node).
    pub loss: f64,
    /// Nodes (never node 0) that crash together at `warmup`.
    pub fail: usize,
    /// Nodes (never node 0, never one that crashes) that leave at `warmup`.
    pub leave: usize,
    /// How long a node keeps running after `leave()` before it stops, so its
    /// core can finish announcing the departure.
    #[serde(with = "humantime_serde")]
    pub leave_linger: Duration,
    /// Latency, in-transit loss and stream behaviour.
    pub network: NetworkConfig,
    /// The membership core's configuration.
    pub config: Config,
    /// foca's configuration, when the detector is `foca`.
    pub foca: FocaSettings,
    /// Nodes (never node 0, nor one that crashes or leaves) that pause
    /// again and again from `warmup` on: `K:DUR:EVERY`, see [`PauseSpec`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<PauseSpec>,
    /// Bytes of datagrams a paused node's receive buffer holds (Linux's
    /// default `rmem_default`); what arrives beyond is dropped.
    pub receive_buffer: usize,
    /// Timed faults, in addition to `fail`, `leave` and `pause`.
    pub actions: Vec<ActionSpec>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 10,
            detector: None,
            seed: 1,
            runs: 1,
            duration: Duration::from_secs(30),
            join_window: Duration::from_secs(2),
            warmup: Duration::from_secs(10),
            bootstrap: Bootstrap::Staggered,
            loss: 0.0,
            fail: 0,
            leave: 0,
            leave_linger: Duration::from_millis(500),
            network: NetworkConfig::default(),
            config: Config::default(),
            foca: FocaSettings::default(),
            pause: None,
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            actions: Vec::new(),
        }
    }
}

/// How the cluster forms before the faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Bootstrap {
    /// Each node joins once at its start time, through node 0 (or nodes 1
    /// and 2 when node 0 does not answer); what it learns later comes from
    /// dissemination and anti-entropy.
    #[default]
    Staggered,
    /// As `staggered`, then, just after the join window, every node makes one
    /// more join exchange with the introducer (a TCP push-pull of the member
    /// list, as memberlist does), so a large cluster starts the measurement
    /// with complete views instead of waiting for gossip to spread every join.
    Sync,
    /// Every node starts at time zero already listing every other node
    /// alive, as a cluster formed long ago would: no join traffic and no
    /// join storm still draining when the faults come, and no `joined`
    /// events for the members it starts with. For steady-state experiments
    /// at scale; crashed nodes restarted later still join through the
    /// introducers.
    Converged,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::from_toml(&text).map_err(|message| SimError::Toml {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses a scenario from TOML text; the error is the parser's message on one line.
    pub fn from_toml(text: &str) -> Result<Scenario, String> {
        toml::from_str(text).map_err(|e| one_line(&e.to_string()))
    }

    /// The detector name in force.
    pub fn detector_name(&self) -> &str {
        self.detector
            .as_deref()
            .unwrap_or(rumor_membership::detector::gossip::NAME)
    }

    /// The membership configuration every node gets.
    pub fn membership_config(&self) -> Config {
        self.config.clone()
    }

    /// Checks what TOML cannot: ranges, probabilities, action arguments.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if self.nodes == 0 {
            return bad("nodes must be at least 1".into());
        }
        if self.nodes > 1_000_000 {
            return bad(format!(
                "{} nodes is more than the 1,000,000 supported",
                self.nodes
            ));
        }
        if self.runs == 0 {
            return bad("runs must be at least 1".into());
        }
        if self.duration.is_zero() {
            return bad("duration must be positive".into());
        }
        check_probability("loss", self.loss)?;
        check_probability("network.loss", self.network.loss)?;
        self.membership_config()
            .validate()
            .map_err(|e| SimError::Membership(e.to_string()))?;
        if self.detector_name() == crate::foca_node::NAME {
            self.foca.config(self.nodes, &self.membership_config())?;
        }
        let paused = self.pause.map_or(0, |p| p.count.of(self.nodes));
        if self.fail + self.leave + paused > self.nodes.saturating_sub(1) {
            return bad(format!(
                "fail {} + leave {} + paused {paused} needs more than the {} nodes besides node 0",
                self.fail,
                self.leave,
                self.nodes.saturating_sub(1)
            ));
        }
        for (i, a) in self.actions.iter().enumerate() {
            let what = format!(
                "actions[{i}] ({:?} at {})",
                a.action,
                humantime::format_duration(a.at)
            );
            a.validate(self.nodes, &what)?;
        }
        Ok(())
    }

    /// The timed actions of the run with `seed`, random picks resolved and
    /// sugar unfolded (see [`crate::ActionKind`]), in time order (ties keep
    /// file order; `fail` and `leave` come last).
    pub fn plan(&self, seed: u64) -> Vec<(Duration, Action)> {
        let mut rng = DetRng::new(derive_seed(seed, stream::PICK, 0));
        // Random picks never repeat a node already picked, nor node 0.
        let mut free: Vec<usize> = (1..self.nodes).collect();
        let mut pick = |k: usize, rng: &mut DetRng| -> Vec<usize> {
            let mut out = Vec::with_capacity(k);
            for _ in 0..k.min(free.len()) {
                let i = rng.below(free.len() as u64) as usize;
                out.push(free.swap_remove(i));
            }
            out.sort_unstable();
            out
        };
        let mut plan = Vec::new();
        for a in &self.actions {
            let mut nodes = a.nodes.clone();
            nodes.extend(pick(a.random, &mut rng));
            plan.extend(a.unfold(nodes));
        }
        if self.fail > 0 {
            plan.push((self.warmup, Action::Crash(pick(self.fail, &mut rng))));
        }
        if self.leave > 0 {
            plan.push((self.warmup, Action::Leave(pick(self.leave, &mut rng))));
        }
        if let Some(pause) = self.pause {
            let mut phases = DetRng::new(derive_seed(seed, stream::PAUSE, 0));
            let every = pause.every.as_nanos() as u64;
            for node in pick(pause.count.of(self.nodes), &mut rng) {
                let mut at = self.warmup + Duration::from_nanos(phases.below(every));
                while at < self.duration {
                    let action = Action::Pause {
                        nodes: vec![node],
                        lasting: pause.lasting,
                    };
                    plan.push((at, action));
                    at += pause.every;
                }
            }
        }
        plan.sort_by_key(|(at, _)| *at);
        plan
    }
}

/// Joins the lines of a multi-line message.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ActionKind;

    #[test]
    fn parses_a_scenario_file() {
        let s = Scenario::from_toml(
            r#"
            nodes = 12
            detector = "swim"
            duration = "40s"
            loss = 0.1
            [network]
            latency = "1ms"
            jitter = "2ms"
            jitter_shape = "exponential"
            [[actions]]
            at = "10s"
            action = "partition"
            nodes = [0, 1, 2]
            one_way = true
            [[actions]]
            at = "12s"
            action = "crash"
            random = 2
            [[actions]]
            at = "15s"
            action = "heal"
            [[actions]]
            at = "16s"
            action = "set-loss"
            loss = 0.0
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.nodes, 12);
        assert_eq!(s.detector_name(), "swim");
        assert_eq!(s.network.latency, Duration::from_millis(1));
        let plan = s.plan(5);
        assert_eq!(plan.len(), 4);
        assert!(
            matches!(&plan[0].1, Action::Partition { from, to: None, one_way: true } if from == &[0, 1, 2])
        );
        let Action::Crash(picked) = &plan[1].1 else {
            panic!("{plan:?}")
        };
        assert_eq!(picked.len(), 2);
        assert!(!picked.contains(&0), "node 0 is never picked");
        assert_eq!(plan, s.plan(5), "picks depend on the seed only");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(Scenario::from_toml("nodez = 3").is_err());
        assert!(Scenario::from_toml("[[actions]]\nat = \"1s\"\naction = \"explode\"").is_err());
        let mut s = Scenario {
            loss: 1.5,
            ..Scenario::default()
        };
        assert!(s.validate().is_err());
        s.loss = 0.0;
        s.actions.push(ActionSpec::new(
            Duration::from_secs(1),
            ActionKind::Crash,
            vec![10],
        ));
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        s.actions[0].nodes.clear();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("`nodes` or `random`")
        );
    }

    #[test]
    fn fail_and_leave_pick_distinct_nodes() {
        let s = Scenario {
            nodes: 10,
            fail: 5,
            leave: 4,
            ..Scenario::default()
        };
        s.validate().unwrap();
        let plan = s.plan(1);
        let mut all: Vec<usize> = plan
            .iter()
            .flat_map(|(_, a)| match a {
                Action::Crash(n) | Action::Leave(n) => n.clone(),
                _ => vec![],
            })
            .collect();
        all.sort_unstable();
        assert_eq!(all, (1..10).collect::<Vec<_>>());
    }
}
