//! Timed actions: what a scenario does to the cluster and when, as written
//! in a scenario file ([`ActionSpec`]) and as a run plays it ([`Action`]).
//!
//! Some kinds are sugar a run unfolds into plain partitions and heals: a
//! partition or isolation given `for` heals by itself, and a `flap` is a
//! partition applied and healed `times` times. Every heal lifts every cut in
//! force, as the `heal` action does.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SimError;

/// The kinds of timed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ActionKind {
    /// The nodes stop: no delivery, no timer.
    Crash,
    /// The nodes (crashed ones when none are named) start again under a new
    /// version and rejoin through the introducers.
    Restart,
    /// The nodes leave voluntarily, then stop.
    Leave,
    /// Cut `nodes` from `to` (from everyone else when `to` is empty).
    Partition,
    /// Cut `nodes` from everyone else (a partition without `to`).
    Isolate,
    /// A flapping link: cut `nodes` from `to` (everyone else when empty)
    /// for `period_on`, heal for `period_off`, `times` times over.
    Flap,
    /// Heal every partition.
    Heal,
    /// Change the receiver-side drop (`loss`) and/or in-transit loss (`net_loss`).
    SetLoss,
    /// The nodes stop running `for` this long (sending nothing, handling
    /// nothing, their datagrams waiting in the receive buffer), then go on;
    /// `times` times, once every `every`, when given.
    Pause,
}

/// One timed action as written in a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ActionSpec {
    /// When, from the start of the run.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// What.
    pub action: ActionKind,
    /// The nodes it applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<usize>,
    /// Or this many nodes picked at random from the seed (never node 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub random: usize,
    /// Partition, flap: the other side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<usize>,
    /// Partition, isolate, flap: cut only `nodes → to`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_way: bool,
    /// Partition, isolate: heal this long after the cut.
    #[serde(
        rename = "for",
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub lasting: Option<Duration>,
    /// Flap: how long each cut lasts.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_on: Option<Duration>,
    /// Flap: how long the link works between two cuts.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_off: Option<Duration>,
    /// Flap: how many cuts (each followed by a heal); pause: how many pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Pause: from the start of one pause to the next, when `times` > 1.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub every: Option<Duration>,
    /// Set-loss: the new receiver-side drop probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Set-loss: the new in-transit loss probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_loss: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An action with its nodes resolved for one run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Crash these slots.
    Crash(Vec<usize>),
    /// Restart these slots (every crashed one when empty).
    Restart(Vec<usize>),
    /// These slots leave.
    Leave(Vec<usize>),
    /// Cut `from → to` (and back unless `one_way`); `to` = everyone else when `None`.
    Partition {
        /// One side.
        from: Vec<usize>,
        /// The other side.
        to: Option<Vec<usize>>,
        /// Only `from → to`.
        one_way: bool,
    },
    /// Heal every partition.
    Heal,
    /// These slots pause for `lasting`.
    Pause {
        /// The slots.
        nodes: Vec<usize>,
        /// How long.
        lasting: Duration,
    },
    /// New loss probabilities.
    SetLoss {
        /// Receiver-side drop.
        receiver: Option<f64>,
        /// In-transit loss.
        network: Option<f64>,
    },
}

impl ActionSpec {
    /// An action of `kind` at `at` on explicit `nodes`.
    pub fn new(at: Duration, action: ActionKind, nodes: Vec<usize>) -> ActionSpec {
        ActionSpec {
            at,
            action,
            nodes,
            random: 0,
            to: Vec::new(),
            one_way: false,
            lasting: None,
            period_on: None,
            period_off: None,
            times: None,
            every: None,
            loss: None,
            net_loss: None,
        }
    }

    /// A flapping link: `nodes` cut from `to` (everyone else when empty)
    /// from `at` for `on`, then healed for `off`, `times` times.
    pub fn flap(
        at: Duration,
        nodes: Vec<usize>,
        on: Duration,
        off: Duration,
        times: u32,
    ) -> ActionSpec {
        ActionSpec {
            period_on: Some(on),
            period_off: Some(off),
            times: Some(times),
            ..ActionSpec::new(at, ActionKind::Flap, nodes)
        }
    }

    /// Checks what TOML cannot, for a cluster of `n` nodes; `what` names
    /// the action in messages.
    pub(crate) fn validate(&self, n: usize, what: &str) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(format!("{what}: {m}")));
        if let Some(&node) = self.nodes.iter().chain(&self.to).find(|&&x| x >= n) {
            return bad(format!("node {node} is out of range 0..{n}"));
        }
        if self.random >= n {
            return bad(format!(
                "random {} needs more nodes besides node 0",
                self.random
            ));
        }
        let named = !self.nodes.is_empty() || self.random > 0;
        let cuts = matches!(
            self.action,
            ActionKind::Partition | ActionKind::Isolate | ActionKind::Flap
        );
        match self.action {
            ActionKind::Crash | ActionKind::Leave | ActionKind::Pause if !named => {
                return bad("name `nodes` or `random`".into());
            }
            _ if cuts && !named => return bad("name `nodes` or `random`".into()),
            ActionKind::Isolate if !self.to.is_empty() => {
                return bad("an isolated node is cut from everyone: no `to`".into());
            }
            ActionKind::SetLoss if self.loss.is_none() && self.net_loss.is_none() => {
                return bad("set `loss` and/or `net_loss`".into());
            }
            _ => {}
        }
        if !self.to.is_empty() && !matches!(self.action, ActionKind::Partition | ActionKind::Flap) {
            return bad("`to` is for partition and flap".into());
        }
        if self.one_way && !cuts {
            return bad("`one_way` is for partition, isolate and flap".into());
        }
        match (self.action, self.lasting) {
            (ActionKind::Partition | ActionKind::Isolate | ActionKind::Pause, Some(d))
                if d.is_zero() =>
            {
                return bad("`for` must be positive".into());
            }
            (ActionKind::Pause, None) => return bad("a pause needs `for`".into()),
            (ActionKind::Partition | ActionKind::Isolate | ActionKind::Pause, _) | (_, None) => {}
            (_, Some(_)) => return bad("`for` is for partition, isolate and pause".into()),
        }
        if self.action == ActionKind::Pause {
            let times = self.times.unwrap_or(1);
            match self.every {
                _ if times == 0 => return bad("`times` must be positive".into()),
                None if times > 1 => return bad("repeated pauses need `every`".into()),
                Some(every) if every <= self.lasting.unwrap_or_default() => {
                    return bad("`every` must be longer than `for`".into());
                }
                _ => {}
            }
        } else if self.every.is_some() {
            return bad("`every` is for pause".into());
        }
        let flap_fields = [
            self.period_on.is_some(),
            self.period_off.is_some(),
            self.times.is_some() && self.action != ActionKind::Pause,
        ];
        if self.action == ActionKind::Flap {
            let (Some(on), Some(off), Some(times)) = (self.period_on, self.period_off, self.times)
            else {
                return bad("a flap needs `period_on`, `period_off` and `times`".into());
            };
            if on.is_zero() || off.is_zero() || times == 0 {
                return bad("`period_on`, `period_off` and `times` must be positive".into());
            }
        } else if flap_fields.contains(&true) {
            return bad("`period_on`, `period_off` and `times` are for flap".into());
        }
        if let Some(p) = self.loss {
            check_probability(&format!("{what}: loss"), p)?;
        }
        if let Some(p) = self.net_loss {
            check_probability(&format!("{what}: net_loss"), p)?;
        }
        Ok(())
    }

    /// The run's timed actions this spec unfolds into, `nodes` resolved.
    pub(crate) fn unfold(&self, nodes: Vec<usize>) -> Vec<(Duration, Action)> {
        let at = self.at;
        let cut = |from: Vec<usize>| Action::Partition {
            from,
            to: (!self.to.is_empty()).then(|| self.to.clone()),
            one_way: self.one_way,
        };
        match self.action {
            ActionKind::Crash => vec![(at, Action::Crash(nodes))],
            ActionKind::Restart => vec![(at, Action::Restart(nodes))],
            ActionKind::Leave => vec![(at, Action::Leave(nodes))],
            ActionKind::Partition | ActionKind::Isolate => {
                let mut out = vec![(at, cut(nodes))];
                out.extend(self.lasting.map(|d| (at + d, Action::Heal)));
                out
            }
            ActionKind::Flap => {
                let on = self.period_on.unwrap_or_default();
                let off = self.period_off.unwrap_or_default();
                let mut out = Vec::new();
                let mut start = at;
                for _ in 0..self.times.unwrap_or(0) {
                    out.push((start, cut(nodes.clone())));
                    out.push((start + on, Action::Heal));
                    start += on + off;
                }
                out
            }
            ActionKind::Heal => vec![(at, Action::Heal)],
            ActionKind::Pause => {
                let lasting = self.lasting.unwrap_or_default();
                let every = self.every.unwrap_or_default();
                (0..self.times.unwrap_or(1))
                    .map(|k| {
                        let pause = Action::Pause {
                            nodes: nodes.clone(),
                            lasting,
                        };
                        (at + every * k, pause)
                    })
                    .collect()
            }
            ActionKind::SetLoss => vec![(
                at,
                Action::SetLoss {
                    receiver: self.loss,
                    network: self.net_loss,
                },
            )],
        }
    }
}

/// Fails unless `p` is a probability.
pub(crate) fn check_probability(what: &str, p: f64) -> Result<(), SimError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(SimError::Invalid(format!(
            "{what} = {p} is not a probability in [0, 1]"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_flap_unfolds_into_cuts_and_heals() {
        let flap = ActionSpec::flap(S(10), vec![3], S(10), S(5), 3);
        flap.validate(10, "flap").unwrap();
        let plan = flap.unfold(vec![3]);
        let times: Vec<u64> = plan.iter().map(|(at, _)| at.as_secs()).collect();
        assert_eq!(times, [10, 20, 25, 35, 40, 50]);
        assert!(plan.iter().step_by(2).all(|(_, a)| matches!(
            a,
            Action::Partition { from, to: None, one_way: false } if from == &[3]
        )));
        assert!(
            plan.iter()
                .skip(1)
                .step_by(2)
                .all(|(_, a)| *a == Action::Heal)
        );
    }

    #[test]
    fn isolate_and_for_are_sugar() {
        let mut isolate = ActionSpec::new(S(4), ActionKind::Isolate, vec![2]);
        isolate.lasting = Some(S(2));
        isolate.validate(5, "isolate").unwrap();
        let plan = isolate.unfold(vec![2]);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[1], (S(6), Action::Heal));
        isolate.to = vec![1];
        assert!(isolate.validate(5, "isolate").is_err());
    }

    #[test]
    fn misplaced_or_missing_fields_are_refused() {
        let mut crash = ActionSpec::new(S(1), ActionKind::Crash, vec![1]);
        crash.times = Some(2);
        assert!(
            crash
                .validate(5, "crash")
                .unwrap_err()
                .to_string()
                .contains("flap")
        );
        let mut flap = ActionSpec::flap(S(1), vec![1], S(1), S(1), 2);
        flap.period_off = None;
        assert!(flap.validate(5, "flap").is_err());
        let mut partition = ActionSpec::new(S(1), ActionKind::Partition, vec![1]);
        partition.lasting = Some(Duration::ZERO);
        assert!(partition.validate(5, "partition").is_err());
        let mut heal = ActionSpec::new(S(1), ActionKind::Heal, vec![]);
        heal.lasting = Some(S(1));
        assert!(heal.validate(5, "heal").is_err());
    }
}
