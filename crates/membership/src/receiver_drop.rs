//! Receiver-side fault injection: a layer in front of the core that drops
//! each incoming message with a fixed probability.
//!
//! The daemon and the simulator put one in front of every core, so the core
//! itself never carries `if drop` tests.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Drops incoming messages with probability `rate`, from a seeded generator.
#[derive(Debug, Clone)]
pub struct ReceiverDrop {
    rate: f64,
    rng: SmallRng,
    dropped: u64,
    admitted: u64,
}

impl ReceiverDrop {
    /// A drop layer with probability `rate` (clamped to `0..=1`; NaN counts
    /// as 0), seeded with `seed`.
    pub fn new(rate: f64, seed: u64) -> ReceiverDrop {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        ReceiverDrop {
            rate,
            rng: SmallRng::seed_from_u64(seed),
            dropped: 0,
            admitted: 0,
        }
    }

    /// Whether the next incoming message gets through to the core.
    pub fn admit(&mut self) -> bool {
        // No draw at rate 0, so a lossless run does not consume randomness.
        if self.rate > 0.0 && self.rng.random_bool(self.rate) {
            self.dropped += 1;
            false
        } else {
            self.admitted += 1;
            true
        }
    }

    /// Messages dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Messages let through so far.
    pub fn admitted(&self) -> u64 {
        self.admitted
    }

    /// The drop probability in use.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_admits_everything_and_one_drops_everything() {
        let mut none = ReceiverDrop::new(0.0, 1);
        let mut all = ReceiverDrop::new(1.0, 1);
        for _ in 0..1000 {
            assert!(none.admit());
            assert!(!all.admit());
        }
        assert_eq!(none.dropped(), 0);
        assert_eq!(all.dropped(), 1000);
    }

    #[test]
    fn drops_close_to_the_rate_and_replays_from_the_seed() {
        let mut a = ReceiverDrop::new(0.1, 42);
        let mut b = ReceiverDrop::new(0.1, 42);
        let pattern_a: Vec<bool> = (0..10_000).map(|_| a.admit()).collect();
        let pattern_b: Vec<bool> = (0..10_000).map(|_| b.admit()).collect();
        assert_eq!(pattern_a, pattern_b);
        assert!((800..1200).contains(&a.dropped()), "{}", a.dropped());
        assert_eq!(a.dropped() + a.admitted(), 10_000);
    }

    #[test]
    fn out_of_range_rates_are_clamped() {
        assert_eq!(ReceiverDrop::new(-1.0, 0).rate(), 0.0);
        assert_eq!(ReceiverDrop::new(7.0, 0).rate(), 1.0);
        assert_eq!(ReceiverDrop::new(f64::NAN, 0).rate(), 0.0);
    }
}
