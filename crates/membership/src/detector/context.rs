//! What a detector may see and do: the core's door for plugins.

use std::time::Duration;

use rand::RngCore;
use rumor_wire::{Incarnation, MemberState, NodeId};

use crate::membership::Core;
use crate::{Config, MembershipError, Time};

/// The core as a detector sees it during one call: time, randomness, a
/// read-only view of the member list, a way to send its own messages (the
/// core adds membership news to each), and a way to report opinions.
pub struct DetectorContext<'a> {
    core: &'a mut Core,
}

impl<'a> DetectorContext<'a> {
    pub(crate) fn new(core: &'a mut Core) -> DetectorContext<'a> {
        DetectorContext { core }
    }

    /// The driver's current time.
    pub fn now(&self) -> Time {
        self.core.now()
    }

    /// This node.
    pub fn me(&self) -> NodeId {
        self.core.me()
    }

    /// The core's configuration (its timing knobs are the detectors' too).
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The seeded generator every random choice must come from (so a run
    /// replays from its seed).
    pub fn rng(&mut self) -> &mut dyn RngCore {
        self.core.rng()
    }

    /// Live (alive or suspected) members, this node included.
    pub fn live_count(&self) -> usize {
        self.core.live_count()
    }

    /// Whether `member` is listed alive or suspected.
    pub fn is_live(&self, member: &NodeId) -> bool {
        self.core.is_live(member)
    }

    /// `member`'s state and incarnation, if listed.
    pub fn state(&self, member: &NodeId) -> Option<(MemberState, Incarnation)> {
        self.core.state_of(member)
    }

    /// Up to `k` distinct live members other than this node and those in
    /// `exclude`, chosen uniformly at random. O(k), not O(n).
    pub fn random_members(&mut self, k: usize, exclude: &[NodeId]) -> Vec<NodeId> {
        self.core.random_members(k, exclude)
    }

    /// Every live member other than this node, in no particular order.
    /// O(n): for small clusters and all-to-all detectors only.
    pub fn live_members(&self) -> Vec<NodeId> {
        (0..self.live_others())
            .filter_map(|i| self.live_member(i))
            .collect()
    }

    /// Live members other than this node: the bound of
    /// [`DetectorContext::live_member`].
    pub fn live_others(&self) -> usize {
        self.core.live_others()
    }

    /// The live member at position `index` (`0..live_others()`) of the
    /// core's live list, in O(1). Positions move as members come and go, so
    /// a detector walking them sees an approximate permutation; it needs no
    /// per-member memory of its own.
    pub fn live_member(&self, index: usize) -> Option<NodeId> {
        self.core.live_member(index)
    }

    /// The largest payload [`DetectorContext::send`] accepts: exactly what
    /// the datagram leaves for it (the driver's per-packet overhead and the
    /// envelope taken off).
    pub fn payload_limit(&self) -> usize {
        self.core.payload_limit()
    }

    /// Bytes of membership news waiting to ride on this node's messages,
    /// up to what one message carries. A detector that fills its payload
    /// to taste (a heartbeat table sent in slices) leaves about this much
    /// of [`DetectorContext::payload_limit`] free for the core to fill.
    pub fn news_bytes(&self) -> usize {
        self.core.news_bytes()
    }

    /// How long a suspected member has before it is declared failed, at the
    /// current cluster size.
    pub fn suspicion_timeout(&self) -> Duration {
        self.core.suspicion_timeout()
    }

    /// Sends one of this detector's messages to `to`; the core adds the
    /// membership news that fits after it, and the receiving core applies
    /// that news before handing the payload to its detector. A payload
    /// over [`DetectorContext::payload_limit`] is not sent: the error says
    /// so and the stats count it.
    pub fn send(&mut self, to: NodeId, payload: Vec<u8>) -> Result<(), MembershipError> {
        let limit = self.payload_limit();
        if payload.len() > limit {
            return Err(self.core.oversize(payload.len(), limit));
        }
        self.core.push_detector(to.addr, payload);
        Ok(())
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

    /// Tells the core what only the detector knows: probes sent (counted),
    /// a probe that went unanswered (kept in the target's history, which
    /// `rumor why` shows), the local health score.
    pub fn note(&mut self, note: crate::DetectorNote) {
        self.core.detector_note(note);
    }

    /// Counts `n` pieces of input this detector ignored as implausible (a
    /// counter that leaps, say), in the core's `absurd_updates`.
    pub fn count_implausible(&mut self, n: u64) {
        self.core.count_implausible(n);
    }
}
