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
//! XOR of its members' fingerprints (address, version, live or not, and the
//! stamp of a live member's metadata), kept up to date on every change (see
//! the member list). A cluster of n members
//! uses about n/4 buckets (a power of two, at most 1,024), so a differing
//! bucket costs about four entries to send; a digest carries at most 256
//! summaries, folded to 32 bits (1 KiB), a rotating window when there are
//! more buckets.
//!
//! The periodic digest starts small: one summary of the whole list (a
//! *root*, about 40 bytes). Two members whose lists agree, the usual case,
//! stop there; a receiver whose list differs and spans more than one
//! bucket answers with a digest of its own next window, and the exchange
//! goes on from there as above. Where every periodic sync sent a full
//! window (1 KiB at 1,000 members, every `sync_interval`), the steady
//! state now costs a root.

use rumor_wire::{Extras, Gossip, MemberUpdate, NodeId, update_len};

use std::net::SocketAddr;

use crate::member_list::{DIGEST_BUCKETS, MemberList};
use crate::node::Node;
use crate::room::split;
use crate::{Time, metadata};

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

/// A bucket summary as it travels: its 32 bits, big-endian (the list keeps
/// only the bits that travel; see `member_list`'s digest part).
fn wire_summary(summary: u32) -> [u8; SUMMARY_BYTES] {
    summary.to_be_bytes()
}

/// What answering a digest comes to.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The digest describes no valid split: counted and dropped.
    Malformed,
    /// A root that differs from this node's, whose list spans several
    /// buckets: the answer is this node's own digest of its next window,
    /// which the sender answers as any digest.
    Expand,
    /// The members of the differing buckets (possibly none) with the
    /// metadata of the live ones, and unless the digest was a reply, this
    /// node's own digest of the same buckets when any differed.
    Repair {
        updates: Vec<MemberUpdate>,
        extras: Extras,
        digest: Option<Gossip>,
    },
}

/// When the next periodic digest goes out, and where in the list it starts.
#[derive(Debug, Clone)]
pub(crate) struct AntiEntropy {
    next_sync: Time,
    /// The first bucket of the next digest.
    cursor: usize,
}

impl AntiEntropy {
    /// The first periodic digest goes out at `first_sync`.
    pub(crate) fn new(first_sync: Time) -> AntiEntropy {
        AntiEntropy {
            next_sync: first_sync,
            cursor: 0,
        }
    }

    /// When the next periodic digest is due.
    pub(crate) fn deadline(&self) -> Time {
        self.next_sync
    }

    /// Whether a periodic digest is due at `now`; if so the next one is
    /// due `interval` later.
    pub(crate) fn due(&mut self, now: Time, interval: std::time::Duration) -> bool {
        if now < self.next_sync {
            return false;
        }
        self.next_sync = now + interval;
        true
    }

    /// The periodic sync, when due: a root (one summary of the whole list)
    /// to one random live member, counted. Most of the time both lists
    /// agree and that is all.
    pub(crate) fn sync_if_due(&mut self, list: &MemberList, node: &mut Node) {
        if !self.due(node.now(), node.config().sync_interval) {
            return;
        }
        let mut target = Vec::new();
        list.choose_live(node.rng(), 1, &[], &mut target);
        if let Some(to) = target.first() {
            node.stats_mut().anti_entropy += 1;
            node.send(to.addr, AntiEntropy::root(list, node.me()));
        }
    }

    /// Starts again from the first bucket (a new version, a new list).
    pub(crate) fn reset(&mut self) {
        self.cursor = 0;
    }

    /// A digest of the next window of buckets of `list`, wherever it is:
    /// a merge asked by the driver, or a periodic sync. `datagram` is the
    /// room of one datagram.
    pub(crate) fn digest(&mut self, list: &MemberList, me: NodeId, datagram: usize) -> Gossip {
        let buckets = digest_buckets(list.len());
        // A full window is 1 KiB of summaries; a small datagram takes fewer.
        let fits = datagram.saturating_sub(DIGEST_ENVELOPE) / SUMMARY_BYTES;
        let window = buckets.min(DIGEST_WINDOW).min(fits.max(1));
        let first = self.cursor % buckets;
        self.cursor = (first + window) % buckets;
        digest(list, me, buckets, first, window, false)
    }

    /// Sends `to` a digest of the next window of buckets.
    pub(crate) fn send_window(
        &mut self,
        list: &MemberList,
        node: &mut Node,
        datagram: usize,
        to: SocketAddr,
    ) {
        let digest = self.digest(list, node.me(), datagram);
        node.send(to, digest);
    }

    /// Answers a digest from `from` (`reply`, `buckets`, `first`, its
    /// summaries) with news of `list` within `news` bytes and this node's
    /// own digest (a window of its own when the digest was a root that
    /// differs): counted, and queued on `node`.
    pub(crate) fn answer_from(
        &mut self,
        list: &MemberList,
        node: &mut Node,
        (news, datagram): (usize, usize),
        from: SocketAddr,
        (reply, buckets, first, summaries): (bool, u32, u32, &[u8]),
    ) {
        match AntiEntropy::answer(list, node.me(), news, reply, buckets, first, summaries) {
            Answer::Expand => self.send_window(list, node, datagram, from),
            Answer::Malformed => node.stats_mut().malformed_digests += 1,
            Answer::Repair {
                updates,
                extras,
                digest,
            } => {
                if !updates.is_empty() {
                    node.stats_mut().digest_repairs += 1;
                    node.send_news(from, updates, extras);
                }
                if let Some(digest) = digest {
                    node.send(from, digest);
                }
            }
        }
    }

    /// The smallest digest there is, one summary of the whole list (about
    /// 40 bytes, where a full window is up to a kilobyte): the periodic
    /// sync, and a reconnect attempt. A member whose list agrees answers
    /// nothing; one whose list differs answers with a digest (see
    /// [`Answer::Expand`]). At a reconnect attempt, a process that holds
    /// this node dead answers `Gone` instead.
    pub(crate) fn root(list: &MemberList, me: NodeId) -> Gossip {
        digest(list, me, 1, 0, 1, false)
    }

    /// Answers a digest: this node's members of every bucket whose summary
    /// differs from the sender's, with the metadata of the live ones, within
    /// `news` bytes of news (the next digest covers what did not fit), then,
    /// unless the digest is a reply, this node's own digest of the same
    /// buckets so the sender repairs this node too.
    pub(crate) fn answer(
        list: &MemberList,
        me: NodeId,
        news: usize,
        reply: bool,
        buckets: u32,
        first: u32,
        summaries: &[u8],
    ) -> Answer {
        let (buckets, first) = (buckets as usize, first as usize);
        let count = summaries.len() / SUMMARY_BYTES;
        let valid = buckets.is_power_of_two()
            && buckets <= DIGEST_BUCKETS
            && summaries.len() % SUMMARY_BYTES == 0
            && first.checked_add(count).is_some_and(|end| end <= buckets);
        if !valid {
            return Answer::Malformed;
        }
        if buckets == 1 && !reply && digest_buckets(list.len()) > 1 {
            // A root: the whole list in one summary.
            return if wire_summary(list.bucket_summary(1, 0)) == summaries {
                Answer::Repair {
                    updates: Vec::new(),
                    extras: Extras::new(),
                    digest: None,
                }
            } else {
                Answer::Expand
            };
        }
        let budget = split(news, list.has_metadata());
        let mut used = 0;
        let mut full = false;
        let mut differ = false;
        let mut updates = Vec::new();
        let mut extras = Extras::new();
        for (i, theirs) in summaries.chunks_exact(SUMMARY_BYTES).enumerate() {
            let bucket = first + i;
            if wire_summary(list.bucket_summary(buckets, bucket)) == theirs {
                continue;
            }
            differ = true;
            list.bucket_members(buckets, bucket, |member| {
                let update = member.update();
                let record = metadata::record_for(list, &update);
                let size = update_len(&update) + record.as_ref().map_or(0, |r| r.record_len());
                if size > budget {
                    // Fits no datagram of this node: never holds the rest up.
                    return true;
                }
                if used + size > budget {
                    full = true;
                    return false;
                }
                used += size;
                updates.push(update);
                if let Some(record) = record {
                    extras.push_metadata(record);
                }
                true
            });
            if full {
                break;
            }
        }
        let digest = (differ && !reply).then(|| digest(list, me, buckets, first, count, true));
        Answer::Repair {
            updates,
            extras,
            digest,
        }
    }
}

/// A digest of buckets `first..first + count` of `buckets`.
fn digest(
    list: &MemberList,
    me: NodeId,
    buckets: usize,
    first: usize,
    count: usize,
    reply: bool,
) -> Gossip {
    let summaries = (first..first + count)
        .flat_map(|bucket| wire_summary(list.bucket_summary(buckets, bucket)))
        .collect();
    Gossip::Digest {
        sender: me,
        reply,
        buckets: buckets as u32,
        first: first as u32,
        summaries,
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

    fn id(port: u16) -> NodeId {
        format!("10.0.0.1:{port}#1").parse().unwrap()
    }

    /// The same three members, the third with metadata `tags` set at
    /// incarnation `at`, if any.
    fn list(tags: Option<(u64, &str)>) -> MemberList {
        use rumor_wire::{Incarnation, MemberState, Metadata};
        let mut list = MemberList::new(id(1), Time::ZERO);
        for port in [2, 3] {
            list.insert(id(port), MemberState::Alive, Incarnation(2), Time::ZERO);
        }
        if let Some((at, role)) = tags {
            let metadata = Metadata::from_pairs([("role", role)]).unwrap();
            list.set_metadata(&id(3), Incarnation(at), metadata);
        }
        list
    }

    /// `asker`'s digest of its whole list, answered by `holder`.
    fn exchange(asker: &MemberList, holder: &MemberList) -> (Vec<MemberUpdate>, Extras) {
        let Gossip::Digest {
            buckets,
            first,
            summaries,
            ..
        } = AntiEntropy::new(Time::ZERO).digest(asker, id(1), 1400)
        else {
            unreachable!("a digest")
        };
        let answer = AntiEntropy::answer(holder, id(2), 1300, false, buckets, first, &summaries);
        let Answer::Repair {
            updates, extras, ..
        } = answer
        else {
            unreachable!("a valid digest")
        };
        (updates, extras)
    }

    #[test]
    fn a_difference_in_metadata_is_found_and_repaired_with_its_record() {
        let (updates, extras) = exchange(&list(None), &list(None));
        assert!(updates.is_empty() && extras.is_empty(), "same lists agree");
        let (updates, extras) = exchange(&list(Some((1, "web"))), &list(Some((1, "web"))));
        assert!(
            updates.is_empty() && extras.is_empty(),
            "same metadata agrees"
        );
        for asker in [list(None), list(Some((1, "web")))] {
            let (updates, extras) = exchange(&asker, &list(Some((2, "db"))));
            assert!(updates.iter().any(|u| u.node == id(3)));
            assert_eq!(extras.metadata().len(), 1);
            let record = &extras.metadata()[0];
            assert_eq!((record.node, record.incarnation.0), (id(3), 2));
            assert_eq!(record.metadata.get("role"), Some("db"));
        }
    }
}
