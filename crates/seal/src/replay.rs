//! Bounded memory of the nonces accepted within the replay window.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use crate::open_error::OpenError;

/// Generations kept: the current one plus four previous ones.
///
/// A packet stamped `ts` passes the freshness check while our clock reads
/// within `ts ± window`, and the sender's clock may lead ours by up to the
/// window, so a packet first accepted at our time `t` can be replayed
/// successfully until `t + 2 × window`. Generations rotate every
/// `window / 2`, and a nonce inserted at `t` survives at least four
/// rotations after it, i.e. until after `t + 4 × window / 2`: every replay
/// the clock check lets through is caught here. Two generations would
/// remember a nonce for as little as `window / 2`.
pub(crate) const GENERATIONS: usize = 5;

/// Names a packet's nonce in the replay cache: a 64-bit keyed hash
/// (SipHash-1-3 under keys drawn at random per process: std's
/// [`RandomState`]) of the format byte and the whole nonce.
///
/// Nonces are counters, not random (see `nonce.rs`), so no part of one
/// would do as a name; their keyed hash is as good as random. Two distinct
/// nonces share a name with probability 2^-64, so with the cache at its
/// largest (5 × 65,536 names) a fresh packet is mistaken for a replay with
/// probability below 2^-45. And since only packets whose tag verified are
/// named, nobody without the key can aim at a name.
#[derive(Debug, Default)]
pub(crate) struct NonceNames(RandomState);

impl NonceNames {
    /// The name of `nonce` sealed in format `format`.
    pub fn name(&self, format: u8, nonce: &[u8]) -> u64 {
        let mut hasher = self.0.build_hasher();
        hasher.write_u8(format);
        hasher.write(nonce);
        hasher.finish()
    }
}

/// A set's hasher for names that are hashes already: passes them through.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only write_u64 is used; fold anything else in, to be total.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, name: u64) {
        self.0 = name;
    }
}

type Names = HashSet<u64, BuildHasherDefault<Prehashed>>;

/// Remembers the [name](NonceNames) of every accepted nonce long enough to
/// refuse its replay, in at most [`GENERATIONS`] × `max_entries` entries.
///
/// Only nonces of packets whose tag verified are inserted, so forged
/// traffic cannot fill it. When the current generation is full, new
/// packets are refused until the next rotation: accepting a packet without
/// remembering it would let it be replayed.
#[derive(Debug)]
pub(crate) struct ReplayGuard {
    rotation_ms: u64,
    max_entries: usize,
    // A ring: `generations[current]` takes insertions, the others are
    // older, and rotating clears the oldest and makes it current.
    generations: Vec<Names>,
    current: usize,
    last_rotation_ms: Option<u64>,
}

impl ReplayGuard {
    /// A guard for a freshness window of `window_ms` either side of now.
    pub fn new(window_ms: u64, max_entries: usize) -> ReplayGuard {
        ReplayGuard {
            // Rounded up so four rotations span at least twice the window.
            rotation_ms: window_ms.div_ceil(2).max(1),
            max_entries,
            generations: (0..GENERATIONS).map(|_| Names::default()).collect(),
            current: 0,
            last_rotation_ms: None,
        }
    }

    /// Accepts the nonce named `name` at our time `now_ms` unless it was
    /// accepted before (replayed) or the current generation is full.
    pub fn accept(&mut self, name: u64, now_ms: u64) -> Result<(), OpenError> {
        self.rotate(now_ms);
        if self.generations.iter().any(|g| g.contains(&name)) {
            return Err(OpenError::Replayed);
        }
        let current = &mut self.generations[self.current];
        if current.len() >= self.max_entries {
            return Err(OpenError::ReplayCacheFull);
        }
        current.insert(name);
        Ok(())
    }

    /// Entries held in all generations.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.generations.iter().map(Names::len).sum()
    }

    fn rotate(&mut self, now_ms: u64) {
        let Some(last) = self.last_rotation_ms else {
            self.last_rotation_ms = Some(now_ms);
            return;
        };
        // A clock stepping back never rotates (nothing is forgotten early);
        // one jumping forward by k periods rotates k times, at most all.
        let periods = now_ms.saturating_sub(last) / self.rotation_ms;
        if periods == 0 {
            return;
        }
        let rotations = periods.min(GENERATIONS as u64) as usize;
        for _ in 0..rotations {
            self.current = (self.current + 1) % GENERATIONS;
            // clear() keeps the table's allocation for the next generation.
            self.generations[self.current].clear();
        }
        self.last_rotation_ms = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 60_000;

    #[test]
    fn refuses_a_replay_while_the_clock_check_would_pass_it() {
        // Accepted at t = 1,000,000; the worst case is a sender stamped a
        // full window ahead, whose packet stays fresh until t + 2 × window.
        let t = 1_000_000;
        let mut guard = ReplayGuard::new(WINDOW, 1000);
        assert_eq!(guard.accept(1, t), Ok(()));
        let mut now = t;
        while now <= t + 2 * WINDOW {
            assert_eq!(
                guard.accept(1, now),
                Err(OpenError::Replayed),
                "at t + {}",
                now - t
            );
            // Unrelated traffic keeps the generations rotating.
            guard.accept(now, now).unwrap();
            now += 997;
        }
    }

    #[test]
    fn forgets_after_enough_rotations() {
        let mut guard = ReplayGuard::new(WINDOW, 1000);
        guard.accept(1, 0).unwrap();
        guard.accept(2, 5 * WINDOW / 2).unwrap();
        assert_eq!(guard.accept(1, 5 * WINDOW / 2), Ok(()), "forgotten");
        assert_eq!(guard.len(), 2);
    }

    #[test]
    fn a_clock_jump_forgets_everything_a_step_back_nothing() {
        let mut guard = ReplayGuard::new(WINDOW, 1000);
        guard.accept(1, 10 * WINDOW).unwrap();
        assert_eq!(guard.accept(1, 0), Err(OpenError::Replayed));
        assert_eq!(guard.accept(2, 100 * WINDOW), Ok(()));
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn full_until_the_next_rotation() {
        let mut guard = ReplayGuard::new(WINDOW, 3);
        for n in 0..3 {
            guard.accept(n, 0).unwrap();
        }
        assert_eq!(guard.accept(10, 0), Err(OpenError::ReplayCacheFull));
        assert_eq!(guard.accept(1, 0), Err(OpenError::Replayed));
        assert_eq!(
            guard.accept(10, WINDOW / 2 - 1),
            Err(OpenError::ReplayCacheFull)
        );
        assert_eq!(guard.accept(10, WINDOW / 2), Ok(()));
        assert_eq!(guard.accept(1, WINDOW / 2), Err(OpenError::Replayed));
    }

    #[test]
    fn names_cover_the_whole_nonce_and_the_format() {
        let names = NonceNames::default();
        let a = names.name(2, &[0; 12]);
        assert_eq!(a, names.name(2, &[0; 12]));
        assert_ne!(a, names.name(2, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert_ne!(a, names.name(1, &[0; 12]));
        // Keyed per instance: nobody can predict another process's names.
        assert_ne!(a, NonceNames::default().name(2, &[0; 12]));
    }

    #[test]
    fn tiny_windows_still_rotate() {
        let mut guard = ReplayGuard::new(0, 1);
        guard.accept(1, 0).unwrap();
        assert_eq!(guard.accept(2, 0), Err(OpenError::ReplayCacheFull));
        assert_eq!(guard.accept(2, 1), Ok(()));
    }
}
