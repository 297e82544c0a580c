//! Healing: members declared failed are remembered for a while, and every
//! few seconds one of them is tried again, so that two sides of a partition
//! that can talk again find each other.
//!
//! A member declared failed (never one that left) is remembered by address
//! for `reconnect_window` (24 h by default), at most `reconnect_limit` of
//! them (a full memory overwrites a random entry, so it keeps a sample
//! biased to recent failures). Every `reconnect_interval`, jittered to
//! between half and one and a half of it, the node sends one remembered
//! address an anti-entropy digest; in a healthy view of `live` members,
//! every `ceil(live / 8)` intervals, so that the cluster as a whole knocks
//! about eight times per interval whatever its size. Whoever answers there takes it from
//! the ordinary rules: a process that holds this node dead answers
//! [`Gossip::Gone`](rumor_wire::Gossip::Gone), and one of the two
//! rejoins under a new version (the smaller view yields); a new process at
//! that address learns this node and the two lists merge by digest.
//!
//! The same attempts go to the driver's seed addresses (the agent's
//! `--join` list) while this node's view is in trouble: it holds only
//! itself, or remembers more failed members than it lists live.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;

use crate::Time;

/// Members of a healthy view knocking per `reconnect_interval`, together
/// (each knocks `ceil(live / KNOCKERS)` times less often).
const KNOCKERS: usize = 8;

/// One remembered failure.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    addr: SocketAddr,
    failed_at: Time,
}

/// Where to knock, and when.
#[derive(Debug, Clone)]
pub(crate) struct Reconnect {
    remembered: Vec<Remembered>,
    seeds: Vec<SocketAddr>,
    window: Duration,
    limit: usize,
    interval: Duration,
    next_attempt: Time,
    /// Alternates between remembered members and seeds while the view is
    /// in trouble.
    seed_turn: bool,
}

impl Reconnect {
    pub(crate) fn new(
        window: Duration,
        limit: usize,
        interval: Duration,
        now: Time,
        rng: &mut impl Rng,
    ) -> Reconnect {
        Reconnect {
            remembered: Vec::new(),
            seeds: Vec::new(),
            window,
            limit,
            interval,
            next_attempt: now + jittered(interval, rng),
            seed_turn: false,
        }
    }

    /// The addresses to go back to when the view is in trouble.
    pub(crate) fn set_seeds(&mut self, seeds: Vec<SocketAddr>) {
        self.seeds = seeds;
    }

    pub(crate) fn seeds(&self) -> &[SocketAddr] {
        &self.seeds
    }

    /// Remembers a member declared failed at `addr`.
    pub(crate) fn remember(&mut self, addr: SocketAddr, now: Time, rng: &mut impl Rng) {
        if self.limit == 0 {
            return;
        }
        let entry = Remembered {
            addr,
            failed_at: now,
        };
        if let Some(known) = self.remembered.iter_mut().find(|r| r.addr == addr) {
            *known = entry;
        } else if self.remembered.len() < self.limit {
            self.remembered.push(entry);
        } else {
            let at = rng.random_range(0..self.remembered.len());
            self.remembered[at] = entry;
        }
    }

    /// Forgets `addr`: a live member is listed there again.
    pub(crate) fn forget(&mut self, addr: &SocketAddr) {
        if let Some(at) = self.remembered.iter().position(|r| r.addr == *addr) {
            self.remembered.swap_remove(at);
        }
    }

    /// Failed members remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.remembered.len()
    }

    /// When the next attempt is due.
    pub(crate) fn deadline(&self) -> Time {
        self.next_attempt
    }

    /// The address to try at `now`, if an attempt is due and there is
    /// one; `live` is the number of live members this node lists (itself
    /// included). Schedules the next attempt.
    pub(crate) fn due(&mut self, now: Time, live: usize, rng: &mut impl Rng) -> Option<SocketAddr> {
        if now < self.next_attempt {
            return None;
        }
        let window = self.window;
        self.remembered
            .retain(|r| now.saturating_sub(r.failed_at) < window);
        let in_trouble = live <= 1 || self.remembered.len() > live;
        // A healthy view shares the knocking: each of its members knocks
        // every interval times ceil(live / KNOCKERS), so the cluster as a
        // whole knocks about KNOCKERS times per interval whatever its
        // size. A view in trouble knocks at the full rate.
        let spread = if in_trouble {
            1
        } else {
            live.div_ceil(KNOCKERS).max(1) as u32
        };
        self.next_attempt = now + jittered(self.interval * spread, rng);
        let use_seed =
            in_trouble && !self.seeds.is_empty() && (self.remembered.is_empty() || self.seed_turn);
        self.seed_turn = !self.seed_turn;
        if use_seed {
            return Some(self.seeds[rng.random_range(0..self.seeds.len())]);
        }
        if self.remembered.is_empty() {
            return None;
        }
        Some(self.remembered[rng.random_range(0..self.remembered.len())].addr)
    }
}

/// `period` scaled by a random factor in [0.5, 1.5).
fn jittered(period: Duration, rng: &mut impl Rng) -> Duration {
    period.mul_f64(rng.random_range(0.5..1.5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn reconnect(rng: &mut SmallRng) -> Reconnect {
        Reconnect::new(
            Duration::from_secs(60),
            3,
            Duration::from_secs(2),
            Time::ZERO,
            rng,
        )
    }

    #[test]
    fn tries_remembered_members_every_interval_until_the_window_passes() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut r = reconnect(&mut rng);
        r.remember(addr(1), Time::ZERO, &mut rng);
        let first = r.deadline();
        assert!(first >= Duration::from_secs(1) && first < Duration::from_secs(3));
        assert_eq!(r.due(first - Duration::from_millis(1), 5, &mut rng), None);
        assert_eq!(r.due(first, 5, &mut rng), Some(addr(1)));
        let next = r.deadline();
        assert!(next - first >= Duration::from_secs(1) && next - first < Duration::from_secs(3));
        // Past the window the failure is forgotten.
        assert_eq!(r.due(Duration::from_secs(61), 5, &mut rng), None);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn the_memory_is_bounded_and_forgets_addresses_listed_live_again() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut r = reconnect(&mut rng);
        for port in 1..=10 {
            r.remember(addr(port), Time::ZERO, &mut rng);
        }
        assert_eq!(r.len(), 3);
        r.remember(addr(99), Time::ZERO, &mut rng);
        r.remember(addr(99), Time::ZERO, &mut rng);
        assert_eq!(r.len(), 3);
        r.forget(&addr(99));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn seeds_are_tried_only_while_the_view_is_in_trouble() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut r = reconnect(&mut rng);
        r.set_seeds(vec![addr(7)]);
        let mut t = r.deadline();
        // A healthy view with nothing remembered: no attempt.
        assert_eq!(r.due(t, 5, &mut rng), None);
        // Alone: the seed.
        t = r.deadline();
        assert_eq!(r.due(t, 1, &mut rng), Some(addr(7)));
        // More remembered failures than live members: seeds and failures alternate.
        r.remember(addr(1), t, &mut rng);
        r.remember(addr(2), t, &mut rng);
        let mut seen = Vec::new();
        for _ in 0..6 {
            t = r.deadline();
            seen.push(r.due(t, 1, &mut rng).unwrap());
        }
        assert!(seen.contains(&addr(7)));
        assert!(seen.iter().any(|a| *a != addr(7)));
    }

    #[test]
    fn a_large_healthy_view_shares_the_knocking_and_one_in_trouble_does_not() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut r = reconnect(&mut rng);
        r.remember(addr(1), Time::ZERO, &mut rng);
        let mut t = r.deadline();
        // 80 live members: each knocks a tenth as often (2 s × 10, jittered).
        assert_eq!(r.due(t, 80, &mut rng), Some(addr(1)));
        let gap = r.deadline() - t;
        assert!(
            gap >= Duration::from_secs(10) && gap < Duration::from_secs(30),
            "{gap:?}"
        );
        // Up to eight live members knock at the full rate.
        t = r.deadline();
        assert_eq!(r.due(t, 8, &mut rng), Some(addr(1)));
        let gap = r.deadline() - t;
        assert!(
            gap >= Duration::from_secs(1) && gap < Duration::from_secs(3),
            "{gap:?}"
        );
        // Alone, however large the cluster was: the full rate.
        t = r.deadline();
        assert_eq!(r.due(t, 1, &mut rng), Some(addr(1)));
        assert!(r.deadline() - t < Duration::from_secs(3));
    }
}
