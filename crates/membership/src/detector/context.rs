//! What a detector may see and do: the core's door for plugins.

use std::time::Duration;

use rand::rngs::SmallRng;
use rumor_wire::{Incarnation, MemberState, MemberUpdate, Message, NodeId};

use crate::membership::Core;
use crate::{Config, MembershipError, Time};

/// The core as a detector sees it during one call: time, randomness, a
/// read-only view of the member list, a way to send its own messages, to
/// piggyback and apply membership changes, and to report opinions.
pub struct DetectorContext<'a> {
    core: &'a mut Core,
}

impl<'a> DetectorContext<'a> {
    pub(crate) fn new(core: &'a mut Core) -> DetectorContext<'a> {
        DetectorContext { core }
    }

    /// The driver's current time.
    pub fn now(&self) -> Time {
        self.core.now
    }

    /// This node.
    pub fn me(&self) -> NodeId {
        self.core.me
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// The seeded generator every random choice must come from.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.core.rng
    }

    /// Live (alive or suspected) members, this node included.
    pub fn live_count(&self) -> usize {
        self.core.list.live_count()
    }

    /// Whether `member` is listed alive or suspected.
    pub fn is_live(&self, member: &NodeId) -> bool {
        self.core.list.get(member).is_some_and(|m| m.is_live())
    }

    /// `member`'s state and incarnation, if listed.
    pub fn state(&self, member: &NodeId) -> Option<(MemberState, Incarnation)> {
        self.core.list.get(member).map(|m| (m.state, m.incarnation))
    }

    /// Up to `k` distinct live members other than this node and those in
    /// `exclude`, chosen uniformly at random. O(k), not O(n).
    pub fn random_members(&mut self, k: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(k);
        self.core
            .list
            .choose_live(&mut self.core.rng, k, exclude, &mut out);
        out
    }

    /// Every live member other than this node, in no particular order.
    /// O(n): for small clusters and all-to-all detectors only.
    pub fn live_members(&self) -> Vec<NodeId> {
        let list = &self.core.list;
        (0..list.live_len())
            .filter_map(|i| list.live_at(i))
            .collect()
    }

    /// Live members other than this node: the bound of
    /// [`DetectorContext::live_member`].
    pub fn live_others(&self) -> usize {
        self.core.list.live_len()
    }

    /// The live member at position `index` (`0..live_others()`) of the
    /// core's live list, in O(1). Positions move as members come and go, so
    /// a detector walking them sees an approximate permutation; it needs no
    /// per-member memory of its own.
    pub fn live_member(&self, index: usize) -> Option<NodeId> {
        self.core.list.live_at(index)
    }

    /// The largest payload [`DetectorContext::send`] accepts: what the
    /// datagram limit leaves after the envelope.
    pub fn payload_limit(&self) -> usize {
        self.core.payload_limit()
    }

    /// How long a suspected member has before it is declared failed, at the
    /// current cluster size.
    pub fn suspicion_timeout(&self) -> Duration {
        self.core.suspicion_timeout()
    }

    /// Sends one of this detector's messages to `to`. A payload over
    /// [`DetectorContext::payload_limit`] is not sent: the error says so and
    /// the stats count it.
    pub fn send(&mut self, to: NodeId, payload: Vec<u8>) -> Result<(), MembershipError> {
        let limit = self.payload_limit();
        if payload.len() > limit {
            self.core.stats.oversize_payloads += 1;
            return Err(MembershipError::PayloadTooLarge {
                detector: self.core.detector_name.to_string(),
                size: payload.len(),
                limit,
            });
        }
        let message = Message::Detector {
            detector: self.core.detector_name.to_string(),
            sender: self.core.me,
            payload,
        };
        self.core.push_transmit(to.addr, message);
        Ok(())
    }

    /// Membership changes to piggyback on a message: at most
    /// `Config::max_piggyback` of them, whose encoding as a MessagePack array
    /// takes at most `budget` bytes. Each is counted as one retransmission.
    pub fn piggyback(&mut self, budget: usize) -> Vec<MemberUpdate> {
        self.core.piggyback(budget, None)
    }

    /// Applies membership changes piggybacked on a message from `sender`.
    pub fn apply_updates(&mut self, sender: &NodeId, updates: &[MemberUpdate]) {
        for update in updates {
            self.core.apply(*update, Some(sender.addr));
        }
    }

    /// Counts `n` pieces of input this detector ignored as implausible (a
    /// counter that leaps, say), in the core's `absurd_updates`.
    pub fn count_implausible(&mut self, n: u64) {
        self.core.stats.absurd_updates += n;
    }

    /// Opinion: `member` may have failed. The core suspects it (if alive),
    /// disseminates the suspicion and tells the member, and declares it
    /// failed unless it refutes within [`DetectorContext::suspicion_timeout`].
    pub fn suspect(&mut self, member: NodeId) {
        self.core.suspect(member);
    }

    /// Opinion: fresh direct evidence that `member` is alive. Clears this
    /// node's suspicion of it at its current incarnation.
    pub fn alive(&mut self, member: NodeId) {
        self.core.alive(member);
    }

    /// Opinion: `member` has certainly failed; declared failed at once,
    /// without a suspicion stage.
    pub fn fail(&mut self, member: NodeId) {
        self.core.fail(member);
    }
}
