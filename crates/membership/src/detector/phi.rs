//! `phi`: the φ accrual failure detector (Hayashibara et al.) over gossiped
//! heartbeats.
//!
//! Heartbeats travel exactly as in `gossip` (the same
//! [`Heartbeat`](super::heartbeat::Heartbeat) detector, another verdict
//! rule). Instead of a fixed
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

use super::FailureDetector;
use super::heartbeat::{Heartbeat, Verdict};
use crate::Config;

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

/// The standardized silence `y = (elapsed − mean) / σ` at which [`phi`]
/// reaches `threshold` (positive): the real root of
/// `0.070566·y³ + 1.5976·y = ln((1 − 10^−threshold) / 10^−threshold)`
/// (Cardano; the cubic is increasing, so the root is unique).
pub(crate) fn silence_at(threshold: f64) -> f64 {
    let tail = 10f64.powf(-threshold);
    let l = ((1.0 - tail) / tail).ln();
    let (p, q) = (1.5976 / 0.070566, -l / 0.070566);
    let root = (q * q / 4.0 + p * p * p / 27.0).sqrt();
    (-q / 2.0 + root).cbrt() + (-q / 2.0 - root).cbrt()
}

/// Per member: the window of intervals between rises.
#[derive(Debug, Clone, Default)]
pub struct History {
    window: ArrivalWindow,
}

/// The verdict of `phi`: φ past `phi_threshold` is a suspicion.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhiAccrual;

impl Verdict for PhiAccrual {
    type History = History;

    fn name(&self) -> &'static str {
        NAME
    }

    fn rose(&self, history: &mut History, interval: Duration, config: &Config) {
        history
            .window
            .push(interval.as_secs_f64() * 1000.0, config.phi_window);
    }

    fn is_late(
        &self,
        history: &History,
        silence: Duration,
        floor: Duration,
        config: &Config,
    ) -> bool {
        // φ assumes normal inter-arrival times; sliced tables in large
        // clusters make arrivals Poisson-like with a longer tail, so never
        // suspect before the silence floor either.
        if silence < floor {
            return false;
        }
        let (mean, std_dev) = distribution(history, config);
        let elapsed = silence.as_secs_f64() * 1000.0;
        phi(elapsed, mean, std_dev) > config.phi_threshold
    }

    fn late_after(&self, history: &History, floor: Duration, config: &Config) -> Option<Duration> {
        let (mean, std_dev) = distribution(history, config);
        let at_ms = mean + silence_at(config.phi_threshold) * std_dev;
        // A hair past the crossing, so that the check finds it late.
        let at = Duration::from_secs_f64((at_ms.max(0.0) + 0.001) / 1000.0);
        Some(at.max(floor))
    }
}

/// The window's mean and standard deviation (floored), in milliseconds.
fn distribution(history: &History, config: &Config) -> (f64, f64) {
    let heartbeat_ms = config.heartbeat.as_secs_f64() * 1000.0;
    let min_std_dev_ms = config.phi_min_std_dev.as_secs_f64() * 1000.0;
    let window = &history.window;
    // Until a few intervals are known, assume a slow, jittery start.
    let (mean, std_dev) = if window.len() < 3 {
        (2.0 * heartbeat_ms, heartbeat_ms)
    } else {
        (window.mean(), window.std_dev())
    };
    (mean, std_dev.max(min_std_dev_ms))
}

/// The φ accrual detector.
pub type Phi = Heartbeat<PhiAccrual>;

/// A `phi` detector (its knobs are read from the core's config).
pub fn detector() -> Box<dyn FailureDetector> {
    Box::new(Heartbeat::new(PhiAccrual))
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
    fn the_silence_at_the_threshold_is_where_phi_crosses_it() {
        for threshold in [1.0, 3.0, 8.0, 12.0] {
            let y = silence_at(threshold);
            let (mean, sd) = (100.0, 50.0);
            let at = mean + y * sd;
            assert!(phi(at - 0.01, mean, sd) <= threshold, "{threshold}");
            assert!(phi(at + 0.01, mean, sd) > threshold, "{threshold}");
        }
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
