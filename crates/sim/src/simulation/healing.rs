//! Watching a healed cluster come back together: after a heal, the world
//! checks every [`HEAL_CHECK`] whether it is one full membership again
//! (see [`crate::HealOutcome`]).

use std::time::Duration;

use rumor_membership::{MemberState, NodeId, Time};

use super::{Step, World};

/// How often a healing cluster is checked for full membership: the
/// resolution of the heal times reported.
const HEAL_CHECK: Duration = Duration::from_millis(10);

impl World<'_> {
    /// Checks for full membership at `at`, unless a check is on the agenda.
    pub(super) fn arm_heal_check(&mut self, at: Time) {
        if !self.heal_check_armed {
            self.heal_check_armed = true;
            self.queue.push(at, Step::HealCheck);
        }
    }

    pub(super) fn check_heal(&mut self) {
        self.heal_check_armed = false;
        if !self.heals.awaiting() {
            return;
        }
        if self.full_membership() {
            self.heals.on_full_membership(self.now);
        } else {
            self.arm_heal_check(self.now + HEAL_CHECK);
        }
    }

    /// Whether every running node that has not left lists exactly the
    /// current versions of all of them as live (alive or suspected), and
    /// nothing else.
    pub(super) fn full_membership(&self) -> bool {
        let cores: Vec<_> = self
            .slots
            .iter()
            .filter_map(|s| s.process.as_ref())
            .map(|p| &p.core)
            .filter(|core| !core.has_left())
            .collect();
        let mut running: Vec<NodeId> = cores.iter().map(|core| core.id()).collect();
        running.sort_unstable();
        // The live counts first: a cheap no for most checks.
        if cores.iter().any(|core| core.live_count() != running.len()) {
            return false;
        }
        cores.iter().all(|core| {
            let mut live: Vec<NodeId> = core
                .members()
                .into_iter()
                .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
                .map(|m| m.node)
                .collect();
            live.sort_unstable();
            live == running
        })
    }
}
