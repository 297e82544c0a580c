//! `phi`: the φ accrual failure detector (Hayashibara et al.) over gossiped
//! heartbeats.
//!
//! Heartbeats travel exactly as in `gossip` (own counter raised every
//! `heartbeat`, tables sent to `fanout` random members). Instead of a fixed
//! `t_fail`, each node keeps, per member, a window of the last `phi_window`
//! intervals between rises of that member's counter, and computes
//! φ(t) = −log10(1 − F(t − last rise)), with F the normal distribution of
//! the window's mean and standard deviation (floored at
//! `phi_min_std_dev`), using the logistic approximation of its tail. A
//! member whose φ exceeds `phi_threshold` is suspected; the core declares it
//! failed unless it refutes in time. The threshold adapts detection time to
//! the jitter each observer actually sees.

use std::collections::VecDeque;
use std::time::Duration;

use rumor_wire::{MemberState, NodeId};

use super::gossip::{HeartbeatMessage, heartbeat_message};
use super::heartbeat_table::HeartbeatTable;
use super::{DetectorContext, FailureDetector, MemberChange};
use crate::membership::jitter;
use crate::{Config, MembershipError, Time, payload};

/// The registered name.
pub const NAME: &str = "phi";

/// A sliding window of inter-arrival times with running sums, so mean and
/// variance are O(1).
#[derive(Debug, Clone, Default)]
pub(crate) struct ArrivalWindow {
    samples: VecDeque<f64>,
    sum: f64,
    sum_squares: f64,
}

impl ArrivalWindow {
    pub(crate) fn push(&mut self, interval_ms: f64, capacity: usize) {
        self.samples.push_back(interval_ms);
        self.sum += interval_ms;
        self.sum_squares += interval_ms * interval_ms;
        while self.samples.len() > capacity.max(1) {
            if let Some(old) = self.samples.pop_front() {
                self.sum -= old;
                self.sum_squares -= old * old;
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    pub(crate) fn mean(&self) -> f64 {
        self.sum / self.samples.len().max(1) as f64
    }

    pub(crate) fn std_dev(&self) -> f64 {
        let n = self.samples.len().max(1) as f64;
        let mean = self.sum / n;
        (self.sum_squares / n - mean * mean).max(0.0).sqrt()
    }
}

/// φ for `elapsed` since the last arrival, given the distribution of
/// inter-arrival times (milliseconds).
pub(crate) fn phi(elapsed_ms: f64, mean_ms: f64, std_dev_ms: f64) -> f64 {
    let y = (elapsed_ms - mean_ms) / std_dev_ms;
    let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
    if elapsed_ms > mean_ms {
        -(e / (1.0 + e)).log10()
    } else {
        -(1.0 - 1.0 / (1.0 + e)).log10()
    }
}

#[derive(Debug, Clone, Default)]
struct History {
    window: ArrivalWindow,
}

/// The φ accrual detector.
#[derive(Debug)]
pub struct Phi {
    table: HeartbeatTable<History>,
    next_beat: Option<Time>,
}

impl Phi {
    /// A φ accrual detector (its knobs are read from the context's config).
    pub fn new() -> Phi {
        Phi {
            table: HeartbeatTable::new(),
            next_beat: None,
        }
    }

    /// The registry constructor.
    pub fn boxed(_config: &Config) -> Box<dyn FailureDetector> {
        Box::new(Phi::new())
    }

    fn check(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let config = ctx.config();
        let heartbeat_ms = config.heartbeat.as_secs_f64() * 1000.0;
        let floor_ms = config.phi_min_std_dev.as_secs_f64() * 1000.0;
        let threshold = config.phi_threshold;
        // φ assumes normal inter-arrival times; sliced tables in large
        // clusters make arrivals Poisson-like with a longer tail, so never
        // suspect before the silence floor either.
        let floor = self.table.silence_floor(config.heartbeat, config.fanout);
        let mut late = Vec::new();
        for (id, beat) in self.table.iter_mut() {
            if beat.suspected {
                continue;
            }
            let window = &beat.extra.window;
            // Until a few intervals are known, assume a slow, jittery start.
            let (mean, std_dev) = if window.len() < 3 {
                (2.0 * heartbeat_ms, heartbeat_ms)
            } else {
                (window.mean(), window.std_dev())
            };
            let silence = now.saturating_sub(beat.last_rise);
            let elapsed = silence.as_secs_f64() * 1000.0;
            if silence >= floor && phi(elapsed, mean, std_dev.max(floor_ms)) > threshold {
                beat.suspected = true;
                late.push(*id);
            }
        }
        late.sort();
        for id in late {
            ctx.suspect(id);
        }
    }
}

impl Default for Phi {
    fn default() -> Phi {
        Phi::new()
    }
}

impl FailureDetector for Phi {
    fn name(&self) -> &str {
        NAME
    }

    fn member_changed(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        member: NodeId,
        change: MemberChange,
    ) {
        self.table.member_changed(member, change, ctx.now());
    }

    fn handle(
        &mut self,
        ctx: &mut DetectorContext<'_>,
        sender: NodeId,
        payload: &[u8],
    ) -> Result<(), MembershipError> {
        let message: HeartbeatMessage = payload::decode(NAME, payload)?;
        ctx.apply_updates(&sender, &message.updates);
        let now = ctx.now();
        let capacity = ctx.config().phi_window;
        for (member, counter) in message.heartbeats {
            let Some(previous) = self.table.observe(&member, counter, now) else {
                continue;
            };
            let beat = self
                .table
                .get_mut(&member)
                .expect("observe found the member");
            let interval: Duration = now.saturating_sub(previous);
            let was_suspected = beat.suspected;
            // The gap that led to a suspicion is not a normal interval.
            if !was_suspected {
                beat.extra
                    .window
                    .push(interval.as_secs_f64() * 1000.0, capacity);
            }
            beat.suspected = false;
            if was_suspected || matches!(ctx.state(&member), Some((MemberState::Suspect, _))) {
                ctx.alive(member);
            }
        }
        let implausible = std::mem::take(&mut self.table.implausible);
        if implausible > 0 {
            ctx.count_implausible(implausible);
        }
        Ok(())
    }

    fn tick(&mut self, ctx: &mut DetectorContext<'_>) {
        let now = ctx.now();
        let period = ctx.config().heartbeat;
        let Some(due) = self.next_beat else {
            self.next_beat = Some(now + jitter(ctx.rng(), period));
            return;
        };
        if now < due {
            return;
        }
        self.next_beat = Some(now + period);
        self.table.beat();
        let targets = ctx.random_members(ctx.config().fanout, &[]);
        for to in targets {
            let payload = heartbeat_message(ctx, &mut self.table);
            // Built within payload_limit; an error here is counted by the core.
            let _ = ctx.send(to, payload);
        }
        self.check(ctx);
    }

    fn next_deadline(&self) -> Option<Time> {
        self.next_beat
    }

    fn stalled(&mut self, ctx: &mut DetectorContext<'_>, gap: std::time::Duration) {
        self.table.forgive(gap, ctx.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_grows_with_silence() {
        let low = phi(100.0, 100.0, 50.0);
        let mid = phi(250.0, 100.0, 50.0);
        let high = phi(400.0, 100.0, 50.0);
        assert!(low < 1.0, "{low}");
        assert!(low < mid && mid < high, "{low} {mid} {high}");
        assert!(high > 8.0, "{high}");
    }

    #[test]
    fn window_mean_and_std_dev_slide() {
        let mut window = ArrivalWindow::default();
        for x in [100.0, 100.0, 100.0, 300.0] {
            window.push(x, 3);
        }
        assert_eq!(window.len(), 3);
        let mean = window.mean();
        assert!((mean - 500.0 / 3.0).abs() < 1e-9, "{mean}");
        assert!(window.std_dev() > 90.0 && window.std_dev() < 100.0);
    }
}
