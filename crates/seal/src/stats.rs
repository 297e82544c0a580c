//! Counts of packets sealed, opened, and refused per cause.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::open_error::OpenError;

/// A snapshot of a [`Sealer`](crate::Sealer)'s counters since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Packets sealed.
    pub sealed: u64,
    /// Packets opened: authentic, fresh and not replayed.
    pub opened: u64,
    /// Refused: [`OpenError::Truncated`].
    pub truncated: u64,
    /// Refused: [`OpenError::UnknownVersion`].
    pub unknown_version: u64,
    /// Refused: [`OpenError::OtherCluster`].
    pub other_cluster: u64,
    /// Refused: [`OpenError::WrongKey`].
    pub wrong_key: u64,
    /// Refused: [`OpenError::Stale`].
    pub stale: u64,
    /// Refused: [`OpenError::BadTag`].
    pub bad_tag: u64,
    /// Refused: [`OpenError::Replayed`].
    pub replayed: u64,
    /// Refused: [`OpenError::ReplayCacheFull`].
    pub replay_cache_full: u64,
}

impl Stats {
    /// The count of packets refused for `cause`.
    pub fn refused(&self, cause: OpenError) -> u64 {
        match cause {
            OpenError::Truncated => self.truncated,
            OpenError::UnknownVersion => self.unknown_version,
            OpenError::OtherCluster => self.other_cluster,
            OpenError::WrongKey => self.wrong_key,
            OpenError::Stale => self.stale,
            OpenError::BadTag => self.bad_tag,
            OpenError::Replayed => self.replayed,
            OpenError::ReplayCacheFull => self.replay_cache_full,
        }
    }

    /// Packets refused for any cause.
    pub fn refused_total(&self) -> u64 {
        OpenError::ALL
            .iter()
            .map(|&cause| self.refused(cause))
            .sum()
    }

    /// Every counter as (stable snake_case name, value): `sealed`,
    /// `opened`, then one per cause in [`OpenError::ALL`] order.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        let mut named = vec![("sealed", self.sealed), ("opened", self.opened)];
        named.extend(
            OpenError::ALL
                .iter()
                .map(|&cause| (cause.name(), self.refused(cause))),
        );
        named
    }
}

/// The live counters: atomics, so sealing and opening threads never
/// serialise on them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sealed: AtomicU64,
    opened: AtomicU64,
    refused: [AtomicU64; OpenError::ALL.len()],
}

impl Counters {
    pub fn sealed(&self) {
        self.sealed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self, cause: OpenError) {
        self.refused[cause.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let refused = |cause: OpenError| self.refused[cause.index()].load(Ordering::Relaxed);
        Stats {
            sealed: self.sealed.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            truncated: refused(OpenError::Truncated),
            unknown_version: refused(OpenError::UnknownVersion),
            other_cluster: refused(OpenError::OtherCluster),
            wrong_key: refused(OpenError::WrongKey),
            stale: refused(OpenError::Stale),
            bad_tag: refused(OpenError::BadTag),
            replayed: refused(OpenError::Replayed),
            replay_cache_full: refused(OpenError::ReplayCacheFull),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_its_own_counter_and_name() {
        let counters = Counters::default();
        for (n, &cause) in OpenError::ALL.iter().enumerate() {
            for _ in 0..=n {
                counters.refused(cause);
            }
        }
        let stats = counters.snapshot();
        for (n, &cause) in OpenError::ALL.iter().enumerate() {
            assert_eq!(stats.refused(cause), n as u64 + 1, "{}", cause.name());
        }
        let names: Vec<_> = stats.named().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "sealed",
                "opened",
                "truncated",
                "unknown_version",
                "other_cluster",
                "wrong_key",
                "stale",
                "bad_tag",
                "replayed",
                "replay_cache_full"
            ]
        );
        assert_eq!(stats.refused_total(), 36);
    }
}
