//! Playback: the replay clock, its speed, and seeking. No SDL in here.

use std::time::Duration;

use crate::Millis;

/// The speeds the speed keys step through (replay seconds per real second).
pub const SPEEDS: [f64; 11] = [
    0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0,
];
const NORMAL_SPEED: usize = 3;

/// A history shorter than this plays slower than real time, so that a
/// one-second crash detection can be watched.
pub const SHORTEST_PLAY: Duration = Duration::from_secs(10);

/// The replay clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Player {
    at: f64,
    duration: Millis,
    speed: usize,
    playing: bool,
}

impl Player {
    /// Paused at the start. Normal speed, or slower for a short history so
    /// that playing it takes at least [`SHORTEST_PLAY`].
    pub fn new(duration: Millis) -> Player {
        let wanted = duration as f64 / SHORTEST_PLAY.as_millis() as f64;
        let speed = SPEEDS[..=NORMAL_SPEED]
            .iter()
            .rposition(|&s| s <= wanted)
            .unwrap_or(0);
        Player {
            at: 0.0,
            duration,
            speed,
            playing: false,
        }
    }

    /// The replay time shown.
    pub fn at(&self) -> Millis {
        self.at as Millis
    }

    /// Whether the clock runs.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Replay seconds per real second.
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    /// Advances the clock by `real` elapsed time if playing; stops at the end.
    pub fn advance(&mut self, real: Duration) {
        if !self.playing {
            return;
        }
        self.at += real.as_secs_f64() * 1000.0 * self.speed();
        if self.at >= self.duration as f64 {
            self.at = self.duration as f64;
            self.playing = false;
        }
    }

    /// Play or pause; playing from the end starts again from the beginning.
    pub fn toggle(&mut self) {
        if !self.playing && self.at() >= self.duration {
            self.at = 0.0;
        }
        self.playing = !self.playing;
    }

    /// Starts the clock.
    pub fn play(&mut self) {
        self.playing = true;
    }

    /// One step faster.
    pub fn faster(&mut self) {
        self.speed = (self.speed + 1).min(SPEEDS.len() - 1);
    }

    /// One step slower.
    pub fn slower(&mut self) {
        self.speed = self.speed.saturating_sub(1);
    }

    /// Jumps to `at` (clamped to the replay).
    pub fn seek_to(&mut self, at: Millis) {
        self.at = at.min(self.duration) as f64;
    }

    /// Jumps by `delta` milliseconds, forwards or back.
    pub fn seek_by(&mut self, delta: i64) {
        self.at = (self.at + delta as f64).clamp(0.0, self.duration as f64);
    }

    /// Back to the start, paused, at normal speed.
    pub fn reset(&mut self) {
        *self = Player::new(self.duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_at_speed_and_stops_at_the_end() {
        let mut player = Player::new(10_000);
        player.advance(Duration::from_secs(1));
        assert_eq!(player.at(), 0, "paused clock does not move");
        player.toggle();
        player.faster();
        player.advance(Duration::from_secs(1));
        assert_eq!(player.at(), 2_000);
        player.advance(Duration::from_secs(60));
        assert_eq!(player.at(), 10_000);
        assert!(!player.is_playing());
        player.toggle();
        assert_eq!(player.at(), 0, "play from the end restarts");
    }

    #[test]
    fn short_histories_play_slower() {
        assert_eq!(Player::new(1_400).speed(), 0.125);
        assert_eq!(Player::new(9_000).speed(), 0.5);
        assert_eq!(Player::new(10_000).speed(), 1.0);
        assert_eq!(Player::new(600_000).speed(), 1.0);
        assert_eq!(Player::new(0).speed(), 0.125);
    }

    #[test]
    fn seeks_clamp_and_reset_restores() {
        let mut player = Player::new(5_000);
        player.seek_by(-100);
        assert_eq!(player.at(), 0);
        player.seek_by(7_000);
        assert_eq!(player.at(), 5_000);
        player.seek_to(1_234);
        for _ in 0..20 {
            player.slower();
        }
        assert_eq!(player.speed(), SPEEDS[0]);
        player.reset();
        assert_eq!(player, Player::new(5_000));
    }
}
