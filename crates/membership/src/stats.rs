//! Counters a core keeps about its own work, for reports and benchmarks.

/// Counters of one core since it started. Bytes are encoded message bodies
/// (the envelope adds a few bytes the driver accounts for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Messages passed to [`crate::Membership::handle`].
    pub messages_received: u64,
    /// Messages handed out by [`crate::Membership::poll_transmit`].
    pub messages_sent: u64,
    /// Encoded bytes of the messages handed out.
    pub bytes_sent: u64,
    /// Suspicions this node's own detector raised.
    pub suspicions: u64,
    /// Suspicions of other members this node saw refuted.
    pub refutations: u64,
    /// Suspicions of itself this node refuted.
    pub self_refutations: u64,
    /// Members this node declared failed on its own timer.
    pub failures_declared: u64,
    /// Detector payloads that failed to decode (counted and dropped).
    pub malformed_payloads: u64,
    /// Detector messages for a detector other than ours (counted and dropped).
    pub foreign_detector: u64,
    /// Messages from members known failed or left, or superseded (dropped).
    pub from_dead: u64,
    /// Messages of kinds the core does not handle (dgrep, queries...).
    pub unexpected: u64,
    /// Detector payloads too large for the datagram limit (not sent).
    pub oversize_payloads: u64,
    /// Join responses received that refused us.
    pub join_refused: u64,
    /// Failures declared at an incarnation older than the member's known
    /// one (on a suspicion it had refuted), ignored.
    pub stale_failures: u64,
    /// Suspicions this node only heard of that ran out here, after which
    /// the suspect was asked directly before being declared failed.
    pub last_chances: u64,
    /// Anti-entropy digests answered with members the sender lacked or
    /// held differently.
    pub digest_repairs: u64,
    /// Anti-entropy digests that described no valid split (counted and
    /// dropped).
    pub malformed_digests: u64,
    /// News of new members refused because the list was full
    /// (`Config::max_members`).
    pub members_refused: u64,
    /// Updates, senders and joiners dropped as implausible: a version far
    /// ahead of this node's clock, or an incarnation that leaps.
    pub absurd_updates: u64,
    /// Messages whose sender id does not match the address they came from,
    /// and leaves of one member announced by another (dropped).
    pub misattributed: u64,
    /// Join answers that did not answer the request this node waits for
    /// (another introducer, another nonce, or no join under way): dropped.
    pub unsolicited_join_answers: u64,
    /// Messages dropped because a join was still waiting to be admitted.
    pub while_joining: u64,
    /// Times this node rejoined under a new version.
    pub rejoins: u64,
    /// Reconnect attempts: digests sent to remembered failed members or to
    /// seeds.
    pub reconnect_attempts: u64,
    /// Members that held this node dead and were told to rejoin instead,
    /// this node's view being the larger.
    pub outweighed_peers: u64,
    /// Probes (direct pings) this node's detector sent (SWIM).
    pub probes: u64,
    /// Members this node's detector asked to probe others on its behalf
    /// (SWIM's ping-req).
    pub indirect_probes: u64,
    /// Anti-entropy exchanges this node started (a digest to one member).
    pub anti_entropy: u64,
    /// Times this node was called long after the deadline it asked for
    /// (it was stopped or starved); its suspicions were held open and its
    /// detector discounted the gap.
    pub stalls: u64,
    /// Members' metadata learnt or replaced by newer metadata from news.
    pub metadata_updates: u64,
    /// User broadcasts this node sent ([`crate::Membership::broadcast`]).
    pub broadcasts_sent: u64,
    /// User broadcasts of other members received here for the first time
    /// (each handed to the program once).
    pub broadcasts_received: u64,
    /// User broadcasts heard again (or older than their origin's window of
    /// 64), not handed to the program again.
    pub broadcast_duplicates: u64,
    /// User broadcasts dropped because a bounded queue was full: not
    /// passed on, or not kept for a program that did not poll them.
    pub broadcasts_dropped: u64,
    /// Join requests the program's admission check refused.
    pub admission_refusals: u64,
}
