//! Input that jumps absurdly is suspect, not news.
//!
//! Versions are join times in Unix milliseconds (the agent's and the
//! simulator's convention; any driver whose versions grow more slowly is
//! fine). A version far ahead of this node's own clock cannot come from a
//! process that joined already: taken as news, one forged update at version
//! 2^64 − 1 for a live member's address would make it rejoin under a
//! version nothing can exceed. Incarnations rise by one per refutation, so
//! a jump of thousands in one step is forged or corrupt, and honouring it
//! would leave the member unable to refute. Such input is counted and
//! dropped.
//!
//! The clock is the version this core started with plus the time since,
//! kept across rejoins, so a forged claim can never ratchet it. A claim
//! about this node's own address is believed up to one [`HORIZON`] ahead;
//! a refusal that says "come back newer than V" is followed up to two
//! (V may be a tombstone other members believed, which they accept up to
//! three); any other version is believed up to three. Each step leaves
//! the version this node takes acceptable to every other member.

use std::time::Duration;

use rumor_wire::{Incarnation, Version};

use crate::Time;

/// How far ahead of this node's clock a version of its own address may be.
pub(crate) const HORIZON: Duration = Duration::from_secs(24 * 3600);
/// The largest incarnation rise accepted in one update about a known member.
pub(crate) const MAX_INCARNATION_STEP: u64 = 1 << 16;
/// The largest incarnation accepted at all.
pub(crate) const MAX_INCARNATION: u64 = 1 << 32;

/// This node's notion of "now" in version units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plausibility {
    origin_version: u64,
    origin_time: Time,
}

impl Plausibility {
    pub(crate) fn new(version: Version, now: Time) -> Plausibility {
        Plausibility {
            origin_version: version.0,
            origin_time: now,
        }
    }

    fn clock(&self, now: Time, horizons: u32) -> u64 {
        let elapsed = now.saturating_sub(self.origin_time) + HORIZON * horizons;
        self.origin_version
            .saturating_add(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether another member's version is plausible at `now`.
    pub(crate) fn version(&self, version: Version, now: Time) -> bool {
        version.0 <= self.clock(now, 3)
    }

    /// Whether a refusal's "come back under a version newer than this" is
    /// one to follow at `now`.
    pub(crate) fn renewal(&self, version: Version, now: Time) -> bool {
        version.0 <= self.clock(now, 2)
    }

    /// Whether a version of this node's own address is plausible at `now`.
    pub(crate) fn own_version(&self, version: Version, now: Time) -> bool {
        version.0 <= self.clock(now, 1)
    }

    /// Whether `claimed` is a plausible incarnation of a member known at
    /// `known` (or unknown, `None`).
    pub(crate) fn incarnation(known: Option<Incarnation>, claimed: Incarnation) -> bool {
        claimed.0 <= MAX_INCARNATION
            && known.is_none_or(|known| claimed.0 <= known.0.saturating_add(MAX_INCARNATION_STEP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_far_ahead_of_the_clock_are_absurd() {
        let p = Plausibility::new(Version(1_000), Time::from_secs(5));
        let day = HORIZON.as_millis() as u64;
        let later = Time::from_secs(15);
        assert!(p.version(Version(1_000 + 10_000 + 3 * day), later));
        assert!(!p.version(Version(1_000 + 10_001 + 3 * day), later));
        assert!(p.renewal(Version(1_000 + 10_000 + 2 * day), later));
        assert!(!p.renewal(Version(1_000 + 10_001 + 2 * day), later));
        assert!(p.own_version(Version(1_000 + 10_000 + day), later));
        assert!(!p.own_version(Version(1_000 + 10_001 + day), later));
        assert!(!p.version(Version(u64::MAX), later));
    }

    #[test]
    fn incarnations_may_not_leap() {
        assert!(Plausibility::incarnation(
            Some(Incarnation(5)),
            Incarnation(6)
        ));
        assert!(Plausibility::incarnation(
            Some(Incarnation(5)),
            Incarnation(5 + MAX_INCARNATION_STEP)
        ));
        assert!(!Plausibility::incarnation(
            Some(Incarnation(5)),
            Incarnation(6 + MAX_INCARNATION_STEP)
        ));
        assert!(Plausibility::incarnation(
            None,
            Incarnation(MAX_INCARNATION)
        ));
        assert!(!Plausibility::incarnation(None, Incarnation(u64::MAX)));
    }
}
