//! Notices the cores gave about their own standing, counted by kind. They
//! are not membership events: the ledger never sees them.

use rumor_membership::Notice;
use serde::Serialize;

/// Notices of one run (or of many, summed), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NoticeCounts {
    /// Join requests sent (first joins, rejoins and bootstrap resyncs).
    pub join_asked: u64,
    /// Joins admitted.
    pub joined: u64,
    /// Joins refused by an introducer.
    pub join_refused: u64,
    /// Join requests unanswered in time or unreachable.
    pub join_unanswered: u64,
    /// Rejoins that found nobody and went on as a cluster of one.
    pub alone: u64,
    /// New versions taken to rejoin.
    pub rejoining: u64,
    /// Members that held a node dead and were told to rejoin instead.
    pub outweighed_peer: u64,
    /// Kinds this simulator does not know yet.
    pub other: u64,
}

impl NoticeCounts {
    /// Counts one notice.
    pub fn count(&mut self, notice: &Notice) {
        let counter = match notice {
            Notice::JoinAsked { .. } => &mut self.join_asked,
            Notice::Joined { .. } => &mut self.joined,
            Notice::JoinRefused { .. } => &mut self.join_refused,
            Notice::JoinUnanswered { .. } => &mut self.join_unanswered,
            Notice::Alone => &mut self.alone,
            Notice::Rejoining { .. } => &mut self.rejoining,
            Notice::OutweighedPeer { .. } => &mut self.outweighed_peer,
            _ => &mut self.other,
        };
        *counter += 1;
    }

    /// The sum of `self` and `other`.
    pub fn plus(self, other: &NoticeCounts) -> NoticeCounts {
        NoticeCounts {
            join_asked: self.join_asked + other.join_asked,
            joined: self.joined + other.joined,
            join_refused: self.join_refused + other.join_refused,
            join_unanswered: self.join_unanswered + other.join_unanswered,
            alone: self.alone + other.alone,
            rejoining: self.rejoining + other.rejoining,
            outweighed_peer: self.outweighed_peer + other.outweighed_peer,
            other: self.other + other.other,
        }
    }
}
