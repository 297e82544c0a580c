//! How long a join client waits between rounds of attempts.

use std::time::Duration;

/// Exponential backoff: `initial`, doubled after every round, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub initial: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl Default for Backoff {
    /// 250 ms, doubling up to 4 s.
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(4),
        }
    }
}

impl Backoff {
    /// The pause after `round` failed rounds (0-based).
    pub fn pause(&self, round: u32) -> Duration {
        let factor = 1u32.checked_shl(round.min(16)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let b = Backoff::default();
        let pauses: Vec<u64> = (0..8).map(|r| b.pause(r).as_millis() as u64).collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
        assert_eq!(b.pause(u32::MAX), b.max);
    }
}
