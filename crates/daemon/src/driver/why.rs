//! `rumor why`: a member's recent history as this agent saw it, from the
//! core's provenance rings, in words.

use rumor_membership::{Accuser, Clue, Trace, Verdict};
use rumor_wire::{NodeId, WhyAnswer, WhyStep};

use super::Driver;

impl Driver {
    /// The history of `member` kept here, with its current listing.
    pub(super) fn why(&self, member: NodeId) -> WhyAnswer {
        let listed = self
            .membership
            .members()
            .into_iter()
            .find(|m| m.node == member);
        let traces = self.membership.history(&member);
        let mut suspected_at = None;
        let steps = traces
            .iter()
            .map(|t| {
                let step = self.step(t, suspected_at);
                if matches!(t.clue, Clue::Suspected { .. }) {
                    suspected_at = Some(t.at);
                }
                step
            })
            .collect();
        WhyAnswer {
            node: self.membership.id(),
            member: listed,
            steps,
        }
    }

    fn step(&self, t: &Trace, suspected_at: Option<std::time::Duration>) -> WhyStep {
        let own = Some("self".to_string());
        let text = |from: &Option<std::net::SocketAddr>| match from {
            Some(addr) => Some(addr.to_string()),
            None => Some("a join response".to_string()),
        };
        let detector = &self.settings.detector;
        let (what, by, detail) = match t.clue {
            Clue::ProbeUnanswered {
                direct,
                indirect,
                nacks,
            } => (
                "probe-unanswered",
                own,
                format!(
                    "no ack to {direct} direct ping(s); {indirect} member(s) asked to probe it indirectly, {nacks} of them answered that they got no ack either"
                ),
            ),
            Clue::Suspected {
                accuser: Accuser::OwnDetector,
            } => (
                "suspected",
                own,
                format!("accused by this agent's own {detector} detector"),
            ),
            Clue::Suspected {
                accuser: Accuser::Hearsay { from },
            } => (
                "suspected",
                text(&from),
                "accused by hearsay: another member's suspicion, passed on".to_string(),
            ),
            Clue::Confirmed { from } => (
                "confirmed",
                text(&from),
                "the same suspicion heard again".to_string(),
            ),
            Clue::Refuted { from: None } => (
                "refuted",
                own,
                "fresh evidence of life seen here (an ack or a heartbeat)".to_string(),
            ),
            Clue::Refuted { from } => (
                "refuted",
                text(&from),
                format!("refuted at incarnation {}", t.incarnation),
            ),
            Clue::LastChance => (
                "last-chance",
                own,
                "the hearsay suspicion ran out here: the suspect was asked directly once more"
                    .to_string(),
            ),
            Clue::Failed {
                verdict: Verdict::SuspicionTimer { timeout },
            } => {
                let held = suspected_at.map_or(String::new(), |at| {
                    format!(
                        ", {} ms after the suspicion",
                        t.at.saturating_sub(at).as_millis()
                    )
                });
                (
                    "failed",
                    own,
                    format!(
                        "declared failed here: the suspicion timer ({} ms) ran out without a refutation{held}",
                        timeout.as_millis()
                    ),
                )
            }
            Clue::Failed {
                verdict: Verdict::Hearsay { from },
            } => (
                "failed",
                text(&from),
                "declared failed by another member: its verdict, passed on".to_string(),
            ),
            Clue::Failed {
                verdict: Verdict::Detector,
            } => (
                "failed",
                own,
                format!("declared failed outright by this agent's {detector} detector"),
            ),
            Clue::Left { forced: true } => (
                "left",
                None,
                "forced out by an operator (rumor force-leave)".to_string(),
            ),
            Clue::Left { forced: false } => ("left", None, "left the cluster".to_string()),
            _ => ("other", None, format!("{:?}", t.clue)),
        };
        WhyStep {
            ts_ms: self.epoch_unix_ms + t.at.as_millis() as u64,
            what: what.to_string(),
            incarnation: t.incarnation.0,
            local_health: t.local_health,
            by,
            detail,
        }
    }
}
