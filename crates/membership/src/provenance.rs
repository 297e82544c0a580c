//! Provenance: why this node holds what it holds about a member.
//!
//! Operators of memberlist-style systems ask one question above all when a
//! node is declared failed: who noticed, on what evidence, and why was it
//! not refuted? The core answers it from a bounded ring of [`Trace`]s per
//! member: who accused it first (this node's own detector, after which
//! unanswered probes, or hearsay, and from whom), the suspicion heard again
//! from others (confirmations), refutations with their incarnations, the
//! last chance a hearsay suspect gets, and the verdict with its timer, each
//! stamped with the time, the member's incarnation and this node's local
//! health then. [`crate::Membership::history`] reads it; `rumor why` shows
//! it.
//!
//! Only suspicion-related steps are kept (never one per message or per
//! join), at most [`Provenance::DEFAULT_MEMBERS`] members of
//! [`RING`] steps each by default: the members touched least recently are
//! forgotten first. A detector adds what only it knows (its probes, its
//! local health) through [`crate::DetectorContext::note`].
//!
//! The node keeps the rings (beside its journal of events and its
//! counters); the view records a step at each transition that explains a
//! member's standing, and the core routes the detector's notes.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rumor_wire::{Incarnation, NodeId};

use crate::Time;
use crate::member_list::MemberList;
use crate::node::Node;

/// Steps kept per member; older ones are dropped first.
pub const RING: usize = 16;

/// Confirmations, and unanswered probes, kept per suspicion.
const MAX_REPEATS: usize = 3;

/// Who first said a member may have failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accuser {
    /// This node's own failure detector (after unanswered probes, or a
    /// silent heartbeat, as the steps before it say).
    OwnDetector,
    /// Another member's suspicion, heard from `from` (the member that
    /// passed it on; `None` when it came in a join response).
    Hearsay {
        /// Who told this node.
        from: Option<SocketAddr>,
    },
}

/// How a member came to be declared failed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// This node's suspicion timer ran out without a refutation.
    SuspicionTimer {
        /// The suspicion timeout in force then.
        timeout: Duration,
    },
    /// Another member's verdict, heard from `from`.
    Hearsay {
        /// Who told this node.
        from: Option<SocketAddr>,
    },
    /// The detector declared it failed outright, without a suspicion.
    Detector,
}

/// One step of a member's history as this node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clue {
    /// This node's probe of the member went unanswered: `direct` pings
    /// sent, `indirect` members asked to probe it, `nacks` of those that
    /// answered that they got no ack either.
    ProbeUnanswered {
        /// Direct pings sent.
        direct: u32,
        /// Members asked to probe on this node's behalf.
        indirect: u32,
        /// Helpers that answered they got no ack either.
        nacks: u32,
    },
    /// The member was suspected here.
    Suspected {
        /// Who accused it.
        accuser: Accuser,
    },
    /// The same suspicion was heard again, from `from`.
    Confirmed {
        /// Who passed it on.
        from: Option<SocketAddr>,
    },
    /// The suspicion was refuted: by a higher incarnation heard from
    /// `from`, or (`from: None`) by this node's own fresh evidence (an ack,
    /// a heartbeat).
    Refuted {
        /// Who brought the refutation.
        from: Option<SocketAddr>,
    },
    /// A hearsay suspicion ran out here: the suspect was asked directly
    /// before any verdict.
    LastChance,
    /// The member was declared failed here.
    Failed {
        /// How.
        verdict: Verdict,
    },
    /// The member left (`forced`: by `rumor force-leave`).
    Left {
        /// Whether an operator forced it out.
        forced: bool,
    },
}

/// One step, with when it happened and what stood then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Trace {
    /// When, on the driver's clock.
    pub at: Time,
    /// The member's incarnation as this node knew it then.
    pub incarnation: Incarnation,
    /// This node's local health score then (0 is healthy; detectors
    /// without one leave it at 0).
    pub local_health: u32,
    /// What happened.
    pub clue: Clue,
}

/// What a detector tells the core about its own work, for the counters and
/// for provenance. See [`crate::DetectorContext::note`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DetectorNote {
    /// A probe (a direct ping) was sent.
    Probe,
    /// `helpers` members were asked to probe a member on this node's
    /// behalf.
    IndirectProbe {
        /// Members asked.
        helpers: u32,
    },
    /// A probe of `target` went unanswered (see [`Clue::ProbeUnanswered`]).
    Unanswered {
        /// The member probed.
        target: NodeId,
        /// Direct pings sent.
        direct: u32,
        /// Members asked to probe it.
        indirect: u32,
        /// Nacks received from them.
        nacks: u32,
    },
    /// The detector's local health score now (Lifeguard: 0 is healthy).
    LocalHealth(u32),
}

#[derive(Debug, Default)]
struct Ring {
    last: Time,
    steps: VecDeque<Trace>,
}

/// The bounded rings of every member with a history here.
#[derive(Debug)]
pub(crate) struct Provenance {
    rings: BTreeMap<NodeId, Ring>,
    members: usize,
    health: u32,
}

impl Provenance {
    /// Members with a history kept, by default.
    pub const DEFAULT_MEMBERS: usize = 128;

    /// Rings for at most `members` members (0 keeps none).
    pub(crate) fn new(members: usize) -> Provenance {
        Provenance {
            rings: BTreeMap::new(),
            members,
            health: 0,
        }
    }

    /// Records a step of `member`'s history: `clue` at `at`, when the
    /// member stood at `incarnation`, stamped with the local health score.
    pub(crate) fn record(
        &mut self,
        member: NodeId,
        at: Time,
        incarnation: Incarnation,
        clue: Clue,
    ) {
        let trace = Trace {
            at,
            incarnation,
            local_health: self.health,
            clue,
        };
        self.push(member, trace);
    }

    fn push(&mut self, member: NodeId, trace: Trace) {
        if self.members == 0 {
            return;
        }
        if !self.rings.contains_key(&member) && self.rings.len() >= self.members {
            let stalest = self
                .rings
                .iter()
                .min_by_key(|(_, ring)| ring.last)
                .map(|(id, _)| *id);
            if let Some(id) = stalest {
                self.rings.remove(&id);
            }
        }
        let ring = self.rings.entry(member).or_default();
        let repeated = |t: &Trace| {
            matches!(
                (t.clue, trace.clue),
                (Clue::Confirmed { .. }, Clue::Confirmed { .. })
                    | (Clue::ProbeUnanswered { .. }, Clue::ProbeUnanswered { .. })
            )
        };
        let accused = ring
            .steps
            .iter()
            .any(|t| matches!(t.clue, Clue::Suspected { .. }));
        if accused && repeated(&trace) {
            // Once a member is accused, the first few confirmations and
            // unanswered probes say enough; a busy cluster repeats them
            // many times over, and the ring would forget the accusation.
            let since_accused = ring
                .steps
                .iter()
                .rev()
                .take_while(|t| !matches!(t.clue, Clue::Suspected { .. }))
                .filter(|t| repeated(t))
                .count();
            if since_accused >= MAX_REPEATS {
                return;
            }
        }
        if ring.steps.len() >= RING {
            ring.steps.pop_front();
        }
        ring.last = trace.at;
        ring.steps.push_back(trace);
    }

    /// The steps kept about `member`, oldest first.
    pub(crate) fn history(&self, member: &NodeId) -> Vec<Trace> {
        self.rings
            .get(member)
            .map(|ring| ring.steps.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The local health score the detector last reported.
    pub(crate) fn local_health(&self) -> u32 {
        self.health
    }

    /// The detector reports its local health score (stamped on every step
    /// from now on).
    pub(crate) fn set_local_health(&mut self, score: u32) {
        self.health = score;
    }
}

/// What the detector reported: counted, and kept where it explains a
/// suspicion of a member `list` holds live.
pub(crate) fn detector_note(list: &MemberList, node: &mut Node, note: DetectorNote) {
    match note {
        DetectorNote::Probe => node.stats_mut().probes += 1,
        DetectorNote::IndirectProbe { helpers } => {
            node.stats_mut().indirect_probes += u64::from(helpers)
        }
        DetectorNote::Unanswered {
            target,
            direct,
            indirect,
            nacks,
        } => {
            // A probe of a member already declared gone explains nothing.
            let listed = list.get(&target);
            let Some(incarnation) = listed.filter(|m| m.is_live()).map(|m| m.incarnation) else {
                return;
            };
            let clue = Clue::ProbeUnanswered {
                direct,
                indirect,
                nacks,
            };
            node.trace(target, incarnation, clue);
        }
        DetectorNote::LocalHealth(score) => node.set_local_health(score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(port: u16) -> NodeId {
        format!("127.0.0.1:{port}#1").parse().unwrap()
    }

    fn step(ms: u64) -> Trace {
        Trace {
            at: Duration::from_millis(ms),
            incarnation: Incarnation(0),
            local_health: 0,
            clue: Clue::LastChance,
        }
    }

    #[test]
    fn rings_are_bounded_per_member_and_in_members() {
        let mut p = Provenance::new(2);
        for ms in 0..(RING as u64 + 5) {
            p.push(id(1), step(ms));
        }
        let kept = p.history(&id(1));
        assert_eq!(kept.len(), RING);
        assert_eq!(kept[0].at, Duration::from_millis(5));
        p.push(id(2), step(100));
        // A third member evicts the one touched least recently (id 1).
        p.push(id(3), step(101));
        assert!(p.history(&id(1)).is_empty());
        assert_eq!(p.history(&id(2)).len(), 1);
        assert_eq!(p.history(&id(3)).len(), 1);
        let mut none = Provenance::new(0);
        none.push(id(1), step(1));
        assert!(none.history(&id(1)).is_empty());
    }

    #[test]
    fn an_accusation_outlasts_its_repeats_and_steps_carry_the_health() {
        let mut p = Provenance::new(4);
        let at = Duration::from_millis(1);
        let probe = Clue::ProbeUnanswered {
            direct: 3,
            indirect: 3,
            nacks: 0,
        };
        // Before any accusation, every unanswered probe is kept.
        p.set_local_health(2);
        for _ in 0..MAX_REPEATS + 1 {
            p.record(id(1), at, Incarnation(0), probe);
        }
        let accuser = Accuser::OwnDetector;
        p.record(id(1), at, Incarnation(0), Clue::Suspected { accuser });
        // After it, only the first few of each kind: the ring keeps the
        // accusation however often the suspicion is heard again.
        for port in 0..RING as u16 {
            let from = Some(std::net::SocketAddr::from(([10, 0, 0, 1], port)));
            p.record(id(1), at, Incarnation(0), Clue::Confirmed { from });
            p.record(id(1), at, Incarnation(0), probe);
        }
        let kept = p.history(&id(1));
        // The probes before, the accusation, then the first confirmations
        // and the first probes after it.
        assert_eq!(kept.len(), (MAX_REPEATS + 1) + 1 + 2 * MAX_REPEATS);
        assert!(kept.contains(&Trace {
            at,
            incarnation: Incarnation(0),
            local_health: 2,
            clue: Clue::Suspected { accuser },
        }));
        assert_eq!(p.local_health(), 2);
        let verdict = Verdict::SuspicionTimer {
            timeout: Duration::from_millis(1500),
        };
        p.record(id(1), at, Incarnation(0), Clue::Failed { verdict });
        assert_eq!(
            p.history(&id(1)).last().map(|t| t.clue),
            Some(Clue::Failed { verdict })
        );
    }
}
