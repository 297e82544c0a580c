//! How much fits in a datagram: the one place that knows.
//!
//! The driver declares once what it adds to every datagram (an AEAD's
//! nonce and tag, a header); the datagram limit less that is the room for
//! the encoded envelope. From it, and from the encoded size of the
//! envelopes around an empty payload or an empty list of updates, the core
//! knows exactly how many bytes a detector's payload may take, and how
//! many bytes of piggybacked updates fit after a payload of a given size.
//! Nothing downstream guesses: detectors get the exact room, and every
//! message is encoded once, when the driver polls for it.
//!
//! The news a message carries is the list of updates (one `bin`, always
//! there) and, when there are any, the extras beside it (members' metadata
//! and user broadcasts, a second `bin`, absent when empty): [`split`]
//! turns the bytes both take into a budget of records.

use rumor_wire::{Envelope, Extras, Gossip, NodeId, bin_header_len, encoded_len};

/// The byte budgets of one node's datagrams.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Room {
    /// Bytes for the whole encoded envelope.
    datagram: usize,
    /// A detector message's envelope with an empty payload and no updates.
    detector_base: usize,
    /// An `Updates` message's envelope with no updates.
    updates_base: usize,
}

/// The encoded size of an empty `bin` (payload or list of updates).
const EMPTY_BIN: usize = 2;

impl Room {
    /// The room of `me`'s datagrams for `detector`, within `datagram_limit`
    /// less `packet_overhead`.
    pub(crate) fn new(
        me: NodeId,
        detector: &str,
        datagram_limit: usize,
        packet_overhead: usize,
    ) -> Room {
        let detector_base = encoded_len(&Envelope::new(
            me.addr,
            Gossip::Detector {
                detector: detector.to_string(),
                sender: me,
                payload: Vec::new(),
                updates: Vec::new(),
                extras: Extras::new(),
            },
        ));
        let updates_base = encoded_len(&Envelope::new(
            me.addr,
            Gossip::Updates {
                sender: me,
                updates: Vec::new(),
                extras: Extras::new(),
            },
        ));
        Room {
            datagram: datagram_limit.saturating_sub(packet_overhead),
            detector_base,
            updates_base,
        }
    }

    /// Bytes for the whole encoded envelope of a datagram.
    pub(crate) fn datagram(&self) -> usize {
        self.datagram
    }

    /// The largest detector payload that fits, with no updates.
    pub(crate) fn payload(&self) -> usize {
        fitting(self.datagram.saturating_sub(self.detector_base - EMPTY_BIN))
    }

    /// Bytes left for the news (the list of updates and any extras, their
    /// headers included) after a payload of `payload` bytes.
    pub(crate) fn news_after_payload(&self, payload: usize) -> usize {
        // The base holds an empty payload and an empty list: take both out
        // and put the payload in.
        let used = self.detector_base - 2 * EMPTY_BIN + bin_header_len(payload) + payload;
        self.datagram.saturating_sub(used)
    }

    /// Bytes for the news of an `Updates` message.
    pub(crate) fn news(&self) -> usize {
        self.datagram.saturating_sub(self.updates_base - EMPTY_BIN)
    }

    /// Bytes of update records that fit after a payload of `payload` bytes.
    #[cfg(test)]
    pub(crate) fn updates_after_payload(&self, payload: usize) -> usize {
        fitting(self.news_after_payload(payload))
    }

    /// Bytes of update records that fit in an `Updates` message.
    pub(crate) fn updates(&self) -> usize {
        fitting(self.news())
    }
}

/// The bytes of records that fit in `news` bytes of news: update records
/// alone when there are no extras (exactly as many as fit), else update
/// and extras records together (both headers at their largest set aside).
pub(crate) fn split(news: usize, extras: bool) -> usize {
    if extras {
        news.saturating_sub(2 * bin_header_len(news))
    } else {
        fitting(news)
    }
}

/// The largest `n` with `bin_header_len(n) + n <= room`.
fn fitting(room: usize) -> usize {
    let mut n = room.saturating_sub(2);
    while n > 0 && bin_header_len(n) + n > room {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::{Incarnation, MemberState, MemberUpdate, update_len};

    fn me() -> NodeId {
        "[2001:db8::1]:4000#1795000000000".parse().unwrap()
    }

    #[test]
    fn the_room_is_exact_for_payloads_and_updates() {
        for (limit, overhead) in [(1400, 0), (1400, 57), (512, 57), (300, 0)] {
            let room = Room::new(me(), "swim", limit, overhead);
            let fits = |payload: usize, updates: usize| {
                let update = MemberUpdate {
                    node: me(),
                    state: MemberState::Suspect,
                    incarnation: Incarnation(u64::MAX),
                };
                let message = Gossip::Detector {
                    detector: "swim".into(),
                    sender: me(),
                    payload: vec![0xaa; payload],
                    updates: vec![update; updates],
                    extras: Extras::new(),
                };
                encoded_len(&Envelope::new(me().addr, message)) <= limit - overhead
            };
            let p = room.payload();
            assert!(fits(p, 0), "{limit}/{overhead}: payload {p}");
            assert!(
                !fits(p + 1, 0),
                "{limit}/{overhead}: payload {p} is the most"
            );
            for payload in [0, 10, 100, p / 2] {
                let bytes = room.updates_after_payload(payload);
                let one = update_len(&MemberUpdate {
                    node: me(),
                    state: MemberState::Alive,
                    incarnation: Incarnation(0),
                });
                let k = bytes / one;
                assert!(fits(payload, k), "{limit}/{overhead}: {k} updates");
                assert!(
                    !fits(payload, k + 1),
                    "{limit}/{overhead}: room for one more"
                );
            }
        }
    }

    #[test]
    fn updates_and_extras_within_the_split_fit_the_datagram() {
        use rumor_wire::UserBroadcast;
        for (limit, overhead) in [(1400, 0), (1400, 57), (600, 57), (512, 0)] {
            let room = Room::new(me(), "gossip", limit, overhead);
            for payload in [0, 10, 200] {
                let budget = split(room.news_after_payload(payload), true);
                let update = MemberUpdate {
                    node: me(),
                    state: MemberState::Alive,
                    incarnation: Incarnation(u64::MAX),
                };
                // One update, and one broadcast filling the rest exactly
                // (the arithmetic only: receivers refuse over 512 bytes).
                let empty = UserBroadcast::new(me(), u64::MAX, Vec::new()).record_len();
                let Some(bytes) = budget.checked_sub(update_len(&update) + empty) else {
                    continue;
                };
                let broadcast = UserBroadcast::new(me(), u64::MAX, vec![7; bytes]);
                let message = Gossip::Detector {
                    detector: "gossip".into(),
                    sender: me(),
                    payload: vec![0xaa; payload],
                    updates: vec![update],
                    extras: Extras::from_parts(Vec::new(), vec![broadcast]),
                };
                let len = encoded_len(&Envelope::new(me().addr, message));
                assert!(
                    len <= limit - overhead,
                    "{limit}/{overhead}/{payload}: {len}"
                );
            }
        }
    }

    #[test]
    fn fitting_accounts_for_the_bin_header() {
        assert_eq!(fitting(2), 0);
        assert_eq!(fitting(257), 255);
        assert_eq!(fitting(258), 255);
        assert_eq!(fitting(259), 256);
    }
}
