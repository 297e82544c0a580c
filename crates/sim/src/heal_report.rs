//! Partition healing, measured: for each heal, how long until the cluster is
//! one full membership again, how many rejoins that took, and which false
//! positives the cut caused.
//!
//! A *cut* runs from the first partition of a whole network to the heal
//! that lifts it. After a heal the cluster is whole again at *full
//! membership*: every running node (not left) lists exactly the current
//! versions of all running nodes as live, and nothing else live. A heal
//! that a new cut follows before full membership is not healed: what the
//! new cut does is not the old one's healing.
//!
//! A `failed` mark of a live member is *partition-caused* when its observer
//! and the member sit on two sides of a cut (in force, or healed without
//! full membership yet), or when that member's version was already so
//! marked: the news of one side about the other spreads, inside both
//! sides, after the heal. Every other false positive is genuine; with no
//! partition in the run, all are.

use std::collections::HashSet;

use rumor_membership::{NodeId, Time};
use serde::Serialize;

use crate::network::Cuts;
use crate::report::secs;

/// How the cluster came back together after one heal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HealOutcome {
    /// When the heal came, seconds from the start.
    pub at_s: f64,
    /// How long the cut it lifted lasted, seconds.
    pub cut_s: f64,
    /// Seconds from the heal to full membership; absent when the run ended
    /// or a new cut came first.
    pub healed_s: Option<f64>,
    /// Seconds from the heal to a new cut that came before full membership.
    pub cut_again_s: Option<f64>,
    /// Rejoins from the heal to full membership (or to the new cut, or the
    /// end of the run).
    pub rejoins: u64,
    /// Rejoins while the cut was in force.
    pub rejoins_during_cut: u64,
    /// Partition-caused `failed` marks of live members, from the start of
    /// the cut to full membership.
    pub partition_false_positive_marks: u64,
    /// Genuine `failed` marks of live members in the same time.
    pub genuine_false_positive_marks: u64,
}

/// A heal waiting for full membership.
struct Pending {
    at: Time,
    cut_s: f64,
    lifted: Cuts,
    rejoins: u64,
    rejoins_during_cut: u64,
}

/// The heals of one run.
#[derive(Default)]
pub(crate) struct Heals {
    /// When the cut in force began.
    cut_since: Option<Time>,
    rejoins_during_cut: u64,
    /// False-positive marks since the cut began: (partition-caused, genuine).
    marks: (u64, u64),
    pending: Vec<Pending>,
    /// Versions marked failed across a cut since the cluster was last whole.
    marked_across: HashSet<NodeId>,
    done: Vec<HealOutcome>,
}

impl Heals {
    /// A partition comes at `now`; `already_cut` when another is in force.
    pub fn on_cut(&mut self, now: Time, already_cut: bool) {
        self.close_all(|p| HealOutcome {
            cut_again_s: Some(secs(now - p.at)),
            ..p.outcome(None)
        });
        if !already_cut {
            self.cut_since = Some(now);
            self.rejoins_during_cut = 0;
            self.marks = (0, 0);
        }
    }

    /// A heal at `now` lifted `lifted`.
    pub fn on_heal(&mut self, now: Time, lifted: Cuts) {
        let since = self.cut_since.take().unwrap_or(now);
        self.pending.push(Pending {
            at: now,
            cut_s: secs(now - since),
            lifted,
            rejoins: 0,
            rejoins_during_cut: self.rejoins_during_cut,
        });
    }

    /// Some core took `n` new versions.
    pub fn on_rejoins(&mut self, n: u64) {
        if self.cut_since.is_some() {
            self.rejoins_during_cut += n;
        }
        for p in &mut self.pending {
            p.rejoins += n;
        }
    }

    /// Whether a `failed` mark of `member` (in slot `member_slot`) by the
    /// node in `observer_slot` is the partition's doing; `in_force` are the
    /// cuts in force.
    pub fn partition_caused(
        &mut self,
        observer_slot: usize,
        member_slot: usize,
        member: NodeId,
        in_force: &Cuts,
    ) -> bool {
        let across = in_force.separate(observer_slot, member_slot)
            || self
                .pending
                .iter()
                .any(|p| p.lifted.separate(observer_slot, member_slot));
        if across {
            self.marked_across.insert(member);
            return true;
        }
        self.marked_across.contains(&member)
    }

    /// A false positive was counted, partition-caused or not.
    pub fn on_false_positive(&mut self, partition: bool) {
        if partition {
            self.marks.0 += 1;
        } else {
            self.marks.1 += 1;
        }
    }

    /// Whether some heal waits for full membership.
    pub fn awaiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The cluster is one full membership at `now`.
    pub fn on_full_membership(&mut self, now: Time) {
        self.close_all(|p| p.outcome(Some(secs(now - p.at))));
        self.marked_across.clear();
    }

    /// The run ends: heals still waiting were not healed.
    pub fn finish(mut self) -> Vec<HealOutcome> {
        self.close_all(|p| p.outcome(None));
        self.done
    }

    fn close_all(&mut self, outcome: impl Fn(&Pending) -> HealOutcome) {
        let marks = self.marks;
        for p in std::mem::take(&mut self.pending) {
            self.done.push(HealOutcome {
                partition_false_positive_marks: marks.0,
                genuine_false_positive_marks: marks.1,
                ..outcome(&p)
            });
        }
    }
}

impl Pending {
    fn outcome(&self, healed_s: Option<f64>) -> HealOutcome {
        HealOutcome {
            at_s: secs(self.at),
            cut_s: self.cut_s,
            healed_s,
            cut_again_s: None,
            rejoins: self.rejoins,
            rejoins_during_cut: self.rejoins_during_cut,
            partition_false_positive_marks: 0,
            genuine_false_positive_marks: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Network, NetworkConfig, SlotSet};
    use std::net::SocketAddr;
    use std::time::Duration;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn id(slot: u16) -> NodeId {
        NodeId::new(
            SocketAddr::from(([10, 0, 0, 1], slot)),
            rumor_wire::Version(1),
        )
    }

    #[test]
    fn a_heal_counts_its_rejoins_and_marks_until_full_membership() {
        let mut net = Network::new(NetworkConfig::default(), 1);
        let mut heals = Heals::default();
        heals.on_cut(S(10), false);
        net.partition(SlotSet::new(4, [0, 1]), SlotSet::new(4, [2, 3]), false);
        assert!(heals.partition_caused(0, 2, id(2), net.cuts()));
        assert!(!heals.partition_caused(0, 1, id(1), net.cuts()));
        heals.on_false_positive(true);
        heals.on_rejoins(1);
        heals.on_heal(S(25), net.heal());
        // Across the lifted cut, and the news of 2's failure inside its side.
        assert!(heals.partition_caused(3, 0, id(0), net.cuts()));
        assert!(heals.partition_caused(3, 2, id(2), net.cuts()));
        heals.on_false_positive(true);
        heals.on_rejoins(2);
        assert!(heals.awaiting());
        heals.on_full_membership(S(27));
        assert!(!heals.awaiting());
        assert!(!heals.partition_caused(3, 2, id(2), net.cuts()));
        heals.on_false_positive(false);
        let done = heals.finish();
        assert_eq!(
            done,
            [HealOutcome {
                at_s: 25.0,
                cut_s: 15.0,
                healed_s: Some(2.0),
                cut_again_s: None,
                rejoins: 2,
                rejoins_during_cut: 1,
                partition_false_positive_marks: 2,
                genuine_false_positive_marks: 0,
            }]
        );
    }

    #[test]
    fn a_new_cut_before_full_membership_leaves_the_heal_unhealed() {
        let mut heals = Heals::default();
        heals.on_cut(S(1), false);
        heals.on_heal(S(2), Cuts::default());
        heals.on_cut(S(3), false);
        heals.on_heal(S(5), Cuts::default());
        let done = heals.finish();
        assert_eq!(done.len(), 2);
        assert_eq!((done[0].healed_s, done[0].cut_again_s), (None, Some(1.0)));
        assert_eq!((done[1].cut_s, done[1].healed_s), (2.0, None));
    }
}
