//! swim's probe order: a randomized round-robin. Each round walks the
//! core's live list through a fresh random permutation `i ↦ (a·i + b) mod n`
//! (`a` coprime to `n`), so every member is probed by every other within
//! about `n` periods without any per-member state.

use rand::{Rng, RngCore};

/// One round: positions `(a·i + b) mod n` for `i` in `0..n`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Round {
    n: usize,
    a: usize,
    b: usize,
    i: usize,
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Round {
    /// A fresh round over `n` (non-zero) members.
    pub(super) fn new(n: usize, rng: &mut dyn RngCore) -> Round {
        let mut a = rng.random_range(1..=n);
        while gcd(a, n) != 1 {
            a = a % n + 1;
        }
        let b = rng.random_range(0..n);
        Round { n, a, b, i: 0 }
    }

    /// The next position of the live list, or `None` at the round's end.
    pub(super) fn next_position(&mut self) -> Option<usize> {
        if self.i >= self.n {
            return None;
        }
        let Round { n, a, b, i } = *self;
        self.i += 1;
        Some(((a as u128 * i as u128 + b as u128) % n as u128) as usize)
    }

    /// Steps taken in this round.
    pub(super) fn step(&self) -> usize {
        self.i
    }

    /// Steps in the whole round.
    pub(super) fn len(&self) -> usize {
        self.n
    }

    /// Ends the round now: the next target starts a fresh one.
    pub(super) fn finish(&mut self) {
        self.i = self.n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_visits_every_position_once() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for n in [1, 2, 6, 10, 97, 100] {
            let mut round = Round::new(n, &mut rng);
            let mut seen: Vec<usize> = std::iter::from_fn(|| round.next_position()).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }
}
