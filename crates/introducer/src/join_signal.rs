//! Where the agent tells a waiting join client that an answer arrived.
//!
//! Joins are fire-and-forget: the request goes out on one connection and the
//! introducer's answer comes back as a new connection to the joiner's own
//! listener, where the agent's TCP service receives it and the membership core
//! handles it. The agent then raises this signal so the join client stops
//! retrying.

use std::net::SocketAddr;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

use rumor_wire::NodeId;

/// The answer to a join, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// An introducer admitted us.
    Admitted {
        /// Who answered.
        introducer: NodeId,
    },
    /// An introducer refused us.
    Refused {
        /// Where the refusal came from.
        by: SocketAddr,
        /// The introducer's reason.
        reason: String,
    },
}

/// A one-shot, resettable rendezvous between the agent and its join client.
#[derive(Debug, Default)]
pub struct JoinSignal {
    outcome: Mutex<Option<JoinOutcome>>,
    changed: Condvar,
}

impl JoinSignal {
    /// A signal with no outcome yet.
    pub fn new() -> JoinSignal {
        JoinSignal::default()
    }

    /// Records an outcome (the first one wins until [`JoinSignal::reset`]) and
    /// wakes the waiting client.
    pub fn raise(&self, outcome: JoinOutcome) {
        let mut slot = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(outcome);
            self.changed.notify_all();
        }
    }

    /// Forgets the outcome, before a new join.
    pub fn reset(&self) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The outcome, if there is one yet.
    pub fn outcome(&self) -> Option<JoinOutcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until an outcome is raised or `deadline` passes.
    pub fn wait_until(&self, deadline: Instant) -> Option<JoinOutcome> {
        let mut slot = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = slot.as_ref() {
                return Some(outcome.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            slot = self
                .changed
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
