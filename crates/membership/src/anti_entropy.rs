//! Anti-entropy: every `sync_interval` a member sends one random member a
//! digest of its member list, and the receiver answers with its members of
//! every part that differs and, when any did, with its own digest of those
//! parts, which the first member answers in turn (a push-pull: both repair
//! in one exchange; a reply digest gets no digest back). It repairs what
//! dissemination missed (a join or a failure whose every message passed a
//! member by, which a join storm of a thousand nodes leaves behind for
//! dozens of pairs) in an exchange or a few, where sending rotating slices
//! of the list took minutes to reach every gap.
//!
//! The list is split into buckets by address hash; a bucket's summary is the
//! XOR of its members' fingerprints (address, version, live or not), kept up
//! to date on every change (see the member list). A cluster of n members
//! uses about n/4 buckets (a power of two, at most 1,024), so a differing
//! bucket costs about four entries to send; a digest carries at most 256
//! summaries, folded to 32 bits (1 KiB), a rotating window when there are
//! more buckets.

use std::net::SocketAddr;

use rumor_wire::{Gossip, update_len};

use crate::member_list::DIGEST_BUCKETS;
use crate::membership::Core;

/// Summaries per digest message: 256 × 4 bytes, well within a datagram.
pub(crate) const DIGEST_WINDOW: usize = 256;

/// Bytes of one bucket summary on the wire.
const SUMMARY_BYTES: usize = 4;

/// The largest digest envelope around its summaries (an IPv6 sender, the
/// longest bin header): what a datagram must leave for it.
const DIGEST_ENVELOPE: usize = 96;

/// How many buckets a list of `n` members is split into: the power of two
/// nearest above n/4, between 1 and [`DIGEST_BUCKETS`].
pub(crate) fn digest_buckets(n: usize) -> usize {
    (n / 4).next_power_of_two().clamp(1, DIGEST_BUCKETS)
}

/// A bucket summary as it travels: the 64-bit XOR folded to 32 bits (a
/// difference hidden by the fold shows at the next digest to another
/// member, whose bucket differs in other bits).
fn wire_summary(summary: u64) -> [u8; SUMMARY_BYTES] {
    ((summary ^ (summary >> 32)) as u32).to_be_bytes()
}

impl Core {
    /// Anti-entropy: one random member gets a digest of the next window of
    /// buckets of this node's list.
    pub(crate) fn sync(&mut self) {
        let mut target = Vec::new();
        self.list.choose_live(&mut self.rng, 1, &[], &mut target);
        let Some(to) = target.first().copied() else {
            return;
        };
        self.digest_to(to.addr);
    }

    /// A reconnect attempt: the smallest digest there is, one summary of
    /// the whole list (about 40 bytes, where a full window is up to a
    /// kilobyte). A process there that holds this node dead answers
    /// `Gone`; a stranger answers with its members and its own digest, and
    /// ordinary anti-entropy completes the merge.
    pub(crate) fn knock(&mut self, to: SocketAddr) {
        self.send_digest(to, 1, 0, 1, false);
    }

    /// Sends `to` a digest of the next window of buckets, wherever it is
    /// in the list: a merge asked by the driver, or a periodic sync.
    pub(crate) fn digest_to(&mut self, to: SocketAddr) {
        self.stats.anti_entropy += 1;
        let buckets = digest_buckets(self.list.len());
        // A full window is 1 KiB of summaries; a small datagram takes fewer.
        let fits = self.room.datagram.saturating_sub(DIGEST_ENVELOPE) / SUMMARY_BYTES;
        let window = buckets.min(DIGEST_WINDOW).min(fits.max(1));
        let first = self.digest_cursor % buckets;
        self.digest_cursor = (first + window) % buckets;
        self.send_digest(to, buckets, first, window, false);
    }

    /// Sends `to` the summaries of buckets `first..first + count` of
    /// `buckets`.
    fn send_digest(
        &mut self,
        to: SocketAddr,
        buckets: usize,
        first: usize,
        count: usize,
        reply: bool,
    ) {
        let summaries = (first..first + count)
            .flat_map(|bucket| wire_summary(self.list.bucket_summary(buckets, bucket)))
            .collect();
        let digest = Gossip::Digest {
            sender: self.me,
            reply,
            buckets: buckets as u32,
            first: first as u32,
            summaries,
        };
        self.push_transmit(to, digest);
    }

    /// Answers a digest: this node's members of every bucket whose summary
    /// differs from the sender's, as one `Updates` message within the
    /// datagram (the next digest covers what did not fit), then, unless the
    /// digest is a reply, this node's own digest of the same buckets so the
    /// sender repairs this node too. A digest that does not describe a
    /// valid split is counted and dropped.
    pub(crate) fn answer_digest(
        &mut self,
        from: SocketAddr,
        reply: bool,
        buckets: u32,
        first: u32,
        summaries: &[u8],
    ) {
        let (buckets, first) = (buckets as usize, first as usize);
        let count = summaries.len() / SUMMARY_BYTES;
        let valid = buckets.is_power_of_two()
            && buckets <= DIGEST_BUCKETS
            && summaries.len() % SUMMARY_BYTES == 0
            && first.checked_add(count).is_some_and(|end| end <= buckets);
        if !valid {
            self.stats.malformed_digests += 1;
            return;
        }
        let budget = self.updates_budget();
        let mut used = 0;
        let mut full = false;
        let mut differ = false;
        let mut updates = Vec::new();
        for (i, theirs) in summaries.chunks_exact(SUMMARY_BYTES).enumerate() {
            let bucket = first + i;
            if wire_summary(self.list.bucket_summary(buckets, bucket)) == theirs {
                continue;
            }
            differ = true;
            self.list.bucket_members(buckets, bucket, |member| {
                let update = member.update();
                let size = update_len(&update);
                if used + size > budget {
                    full = true;
                    return false;
                }
                used += size;
                updates.push(update);
                true
            });
            if full {
                break;
            }
        }
        if !updates.is_empty() {
            self.stats.digest_repairs += 1;
            self.send_updates(from, updates);
        }
        if differ && !reply {
            self.send_digest(from, buckets, first, count, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_with_the_cluster_up_to_the_finest_split() {
        assert_eq!(digest_buckets(1), 1);
        assert_eq!(digest_buckets(10), 2);
        assert_eq!(digest_buckets(100), 32);
        assert_eq!(digest_buckets(1_000), 256);
        assert_eq!(digest_buckets(10_000), DIGEST_BUCKETS);
        assert_eq!(digest_buckets(1_000_000), DIGEST_BUCKETS);
    }
}
