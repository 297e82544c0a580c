//! One suspicion as a value: when it started, when it runs out, and who
//! confirmed it (Lifeguard's dynamic suspicion timeout, as memberlist's
//! `suspicion.go` applies it).
//!
//! A suspicion's timeout starts at a maximum and shrinks toward a minimum
//! as independent confirmations arrive — other members that suspect the
//! same member, and this node's own detector:
//!
//! ```text
//! timeout(C) = max − (max − min) · log(C + 1) / log(k + 1)     (C ≤ k)
//! ```
//!
//! with C the confirmations so far (distinct accusers beyond the first)
//! and k those expected. A suspicion raised by many members is most likely
//! true and is settled quickly; one raised by a lone member with trouble of
//! its own waits long enough for the suspect to refute. With `max = min`
//! (the default: `Config::suspicion_max_mult = 1`) the timeout is `min`
//! whatever arrives.

use std::net::SocketAddr;
use std::time::Duration;

use crate::Time;

/// A suspicion of one member.
#[derive(Debug, Clone)]
pub(crate) struct Suspicion {
    deadline: Time,
    /// Raised by this node's own detector.
    local: bool,
    /// The deadline was set outright (a last chance, a stall's grace) and
    /// no longer follows confirmations.
    pinned: bool,
    /// What a timeout that shrinks needs; `None` when it is the minimum
    /// whatever arrives (the default), which keeps a suspicion at 32 bytes
    /// (a simulator of 10,000 nodes holds 10,000 maps of them).
    shrinking: Option<Box<Shrinking>>,
}

/// A timeout that shrinks from `max` to `min` over `expected`
/// confirmations.
#[derive(Debug, Clone)]
struct Shrinking {
    start: Time,
    min: Duration,
    max: Duration,
    /// Confirmations after which the timeout is `min`.
    expected: u32,
    /// Who raised it first (`None`: a join response, no one in particular).
    accuser: Option<SocketAddr>,
    /// Distinct accusers since, up to `expected`.
    confirmations: Vec<SocketAddr>,
}

impl Shrinking {
    fn timeout(&self) -> Duration {
        let c = self.confirmations.len() as f64;
        let k = f64::from(self.expected);
        let fraction = ((c + 1.0).ln() / (k + 1.0).ln()).min(1.0);
        let span = self.max - self.min;
        self.max - span.mul_f64(fraction)
    }
}

impl Suspicion {
    /// A suspicion raised at `now` by `accuser`, with a timeout between
    /// `min` and `max` over `expected` confirmations (`expected = 0`, or
    /// `max <= min`: `min` from the start).
    pub(crate) fn new(
        now: Time,
        min: Duration,
        max: Duration,
        expected: u32,
        accuser: Option<SocketAddr>,
        local: bool,
    ) -> Suspicion {
        let shrinking = (expected > 0 && max > min).then(|| {
            Box::new(Shrinking {
                start: now,
                min,
                max,
                expected,
                accuser,
                confirmations: Vec::new(),
            })
        });
        let timeout = shrinking.as_ref().map_or(min, |s| s.timeout());
        Suspicion {
            deadline: now + timeout,
            local,
            pinned: false,
            shrinking,
        }
    }

    /// When the suspicion runs out.
    pub(crate) fn deadline(&self) -> Time {
        self.deadline
    }

    /// Whether this node's own detector raised it.
    pub(crate) fn is_local(&self) -> bool {
        self.local
    }

    /// The timeout it runs on after the confirmations so far, when it can
    /// shrink; `None` when it is the minimum whatever arrives (which the
    /// suspicion does not keep: the suspicion timeout of the cluster's
    /// size).
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.shrinking.as_ref().map(|s| s.timeout())
    }

    /// Independent confirmations so far (counted only while they can
    /// shorten the suspicion).
    #[cfg(test)]
    pub(crate) fn confirmations(&self) -> usize {
        self.shrinking.as_ref().map_or(0, |s| s.confirmations.len())
    }

    /// `accuser` suspects the member too. Returns the new, earlier
    /// deadline when the confirmation shortened the suspicion; `None` when
    /// it changed nothing (the accuser had already, enough confirmed, the
    /// timeout cannot shrink, or the deadline is pinned).
    pub(crate) fn confirm(&mut self, accuser: SocketAddr) -> Option<Time> {
        if self.pinned {
            return None;
        }
        let shrinking = self.shrinking.as_mut()?;
        if shrinking.confirmations.len() >= shrinking.expected as usize {
            return None;
        }
        if shrinking.accuser == Some(accuser) || shrinking.confirmations.contains(&accuser) {
            return None;
        }
        shrinking.confirmations.push(accuser);
        let deadline = shrinking.start + shrinking.timeout();
        if deadline >= self.deadline {
            return None;
        }
        self.deadline = deadline;
        Some(deadline)
    }

    /// Sets the deadline outright (a last chance, a stall's grace); later
    /// confirmations leave it alone.
    pub(crate) fn pin(&mut self, at: Time) {
        self.deadline = at;
        self.pinned = true;
    }

    /// The same suspicion held by another node, which only heard of it.
    pub(crate) fn as_hearsay(&self) -> Suspicion {
        Suspicion {
            local: false,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    const MIN: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(6);

    #[test]
    fn the_timeout_shrinks_from_max_to_min_over_k_confirmations() {
        let t0 = Time::from_secs(100);
        let mut s = Suspicion::new(t0, MIN, MAX, 3, Some(addr(1)), false);
        assert_eq!(s.deadline(), t0 + MAX);
        // memberlist's formula: max − (max − min)·log(C+1)/log(k+1).
        let expect = |c: f64| MAX.as_secs_f64() - 5.0 * (c + 1.0).ln() / 4f64.ln();
        for (c, port) in [(1.0, 2), (2.0, 3), (3.0, 4)] {
            let deadline = s.confirm(addr(port)).expect("a new accuser shortens it");
            let timeout = (deadline - t0).as_secs_f64();
            assert!((timeout - expect(c)).abs() < 1e-6, "C = {c}: {timeout}");
        }
        assert_eq!(s.deadline(), t0 + MIN, "k confirmations: the minimum");
        assert_eq!(s.timeout(), Some(MIN));
        assert_eq!(s.confirm(addr(5)), None, "no shorter than the minimum");
        assert_eq!(s.confirmations(), 3);
    }

    #[test]
    fn only_distinct_accusers_confirm() {
        let mut s = Suspicion::new(Time::ZERO, MIN, MAX, 3, Some(addr(1)), false);
        assert_eq!(s.confirm(addr(1)), None, "the first accuser again");
        assert!(s.confirm(addr(2)).is_some());
        assert_eq!(s.confirm(addr(2)), None, "a second word from the same one");
        assert_eq!(s.confirmations(), 1);
    }

    #[test]
    fn without_a_span_or_expected_confirmations_the_timeout_is_the_minimum() {
        let mut flat = Suspicion::new(Time::ZERO, MIN, MIN, 3, Some(addr(1)), true);
        assert_eq!(flat.deadline(), Time::ZERO + MIN);
        assert_eq!(flat.timeout(), None, "kept by no flat suspicion");
        assert_eq!(flat.confirm(addr(2)), None);
        assert_eq!(flat.deadline(), Time::ZERO + MIN);
        let alone = Suspicion::new(Time::ZERO, MIN, MAX, 0, None, false);
        assert_eq!(
            alone.deadline(),
            Time::ZERO + MIN,
            "k = 0: nobody to wait for"
        );
        assert!(flat.is_local() && !flat.as_hearsay().is_local());
    }

    #[test]
    fn a_suspicion_that_cannot_shrink_is_small() {
        assert_eq!(std::mem::size_of::<Suspicion>(), 32);
        let flat = Suspicion::new(Time::ZERO, MIN, MIN, 3, Some(addr(1)), false);
        assert!(flat.shrinking.is_none(), "nothing kept for confirmations");
    }

    #[test]
    fn a_pinned_deadline_ignores_confirmations() {
        let mut s = Suspicion::new(Time::ZERO, MIN, MAX, 3, Some(addr(1)), false);
        s.pin(Time::from_secs(2));
        assert_eq!(s.confirm(addr(2)), None);
        assert_eq!(s.deadline(), Time::from_secs(2));
    }
}
