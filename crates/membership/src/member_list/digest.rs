//! Anti-entropy buckets: the address-hash space split by its top bits into
//! [`DIGEST_BUCKETS`] finest buckets, and a summary of the members of each
//! ([`Summaries`]), updated on every change so that a digest costs no scan.
//!
//! A summary is 32 bits, as a digest carries it: each member's 64-bit
//! fingerprint folded in half (high XOR low). Folding commutes with XOR, so
//! the XOR of folded fingerprints is the fold of the 64-bit XOR, and a list
//! keeps 4 KiB of summaries where it would keep 8 (a difference hidden by
//! the fold shows at the next digest to another member, whose bucket
//! differs in other bits).

use rumor_wire::{Incarnation, Version};

use super::entry::mix;

/// The finest split of the address-hash space into anti-entropy buckets
/// (a power of two).
pub(crate) const DIGEST_BUCKETS: usize = 1 << DIGEST_BITS;
pub(super) const DIGEST_BITS: u32 = 10;

/// The bucket of an address hash when the hash space is split into
/// `buckets` (a power of two, at most [`DIGEST_BUCKETS`]): its top bits.
pub(super) fn bucket_of(addr_hash: u64, buckets: usize) -> usize {
    debug_assert!(buckets.is_power_of_two() && buckets <= DIGEST_BUCKETS);
    let bits = buckets.trailing_zeros();
    if bits == 0 {
        0
    } else {
        (addr_hash >> (64 - bits)) as usize
    }
}

/// What a member contributes to its bucket's summary: a 64-bit mix of its
/// address hash, its version, whether it is live and, for a live member
/// with metadata, the incarnation at which it set that metadata (`meta`),
/// folded to 32 bits. Summaries are the XOR of their members'
/// fingerprints, so a change updates them in O(1) and two lists agree on a
/// bucket when they hold the same members in the same liveness with the
/// same metadata (suspicions and incarnations aside: gossip settles
/// those). A member without metadata contributes what it did before
/// metadata existed.
pub(super) fn fingerprint(
    addr_hash: u64,
    version: Version,
    live: bool,
    meta: Option<Incarnation>,
) -> u32 {
    let meta = match meta {
        // Odd multiplier, and never zero: a stamp always shows.
        Some(at) if live => at.0.wrapping_add(1).wrapping_mul(0xe703_7ed1_a0b4_28db),
        _ => 0,
    };
    let mixed = mix(addr_hash
        ^ version.0.rotate_left(23)
        ^ u64::from(live).wrapping_mul(0xa076_1d64_78bd_642f)
        ^ meta);
    (mixed ^ (mixed >> 32)) as u32
}

/// Per finest bucket, the XOR of its members' fingerprints.
#[derive(Debug, Clone)]
pub(super) struct Summaries {
    finest: Vec<u32>,
}

impl Summaries {
    pub(super) fn new() -> Summaries {
        Summaries {
            finest: vec![0; DIGEST_BUCKETS],
        }
    }

    /// Adds or takes away (XOR) a member's fingerprint in its bucket.
    pub(super) fn toggle(
        &mut self,
        addr_hash: u64,
        version: Version,
        live: bool,
        meta: Option<Incarnation>,
    ) {
        self.finest[bucket_of(addr_hash, DIGEST_BUCKETS)] ^=
            fingerprint(addr_hash, version, live, meta);
    }

    /// The summary of `bucket` when the hash space is split into `buckets`
    /// (a power of two, at most [`DIGEST_BUCKETS`]): the XOR of the finest
    /// summaries it spans.
    pub(super) fn of(&self, buckets: usize, bucket: usize) -> u32 {
        let span = DIGEST_BUCKETS / buckets;
        self.finest[bucket * span..(bucket + 1) * span]
            .iter()
            .fold(0, |acc, d| acc ^ d)
    }

    #[cfg(test)]
    pub(super) fn finest(&self) -> &[u32] {
        &self.finest
    }
}
