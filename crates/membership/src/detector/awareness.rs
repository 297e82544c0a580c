//! Lifeguard local health awareness: a node that misses acks and nacks is
//! probably the slow one, so it stretches its own probe timeouts instead of
//! suspecting healthy members.

use std::time::Duration;

/// The local health multiplier: 0 when healthy, up to `max`.
#[derive(Debug, Clone)]
pub(crate) struct Awareness {
    score: u32,
    max: u32,
}

impl Awareness {
    pub(crate) fn new(max: u32) -> Awareness {
        Awareness { score: 0, max }
    }

    /// Worse (`delta > 0`) or better (`delta < 0`) health evidence.
    pub(crate) fn apply(&mut self, delta: i32) {
        let score = i64::from(self.score) + i64::from(delta);
        self.score = score.clamp(0, i64::from(self.max)) as u32;
    }

    pub(crate) fn score(&self) -> u32 {
        self.score
    }

    /// `d` stretched by the current health: `d · (1 + score)`.
    pub(crate) fn scale(&self, d: Duration) -> Duration {
        d * (1 + self.score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_clamped_and_scales_timeouts() {
        let mut health = Awareness::new(3);
        health.apply(-1);
        assert_eq!(health.score(), 0);
        health.apply(2);
        health.apply(5);
        assert_eq!(health.score(), 3);
        assert_eq!(
            health.scale(Duration::from_millis(50)),
            Duration::from_millis(200)
        );
        health.apply(-1);
        assert_eq!(health.score(), 2);
    }
}
