//! Membership events: what one node saw happen to one member, as written to
//! the event log.

use std::sync::Arc;

use rumor_wire::{Incarnation, NodeId};

use crate::Time;

/// The kind of an [`Event`], named as in the event log. Ordered along a
/// member's life: joined, suspected, alive, failed, left, removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A member became known (also the observer itself at start).
    Joined,
    /// A member is suspected of having failed.
    Suspected,
    /// A suspicion was refuted: the member is alive.
    Alive,
    /// The member was declared failed (the detection).
    Failed,
    /// The member left voluntarily.
    Left,
    /// The member was deleted from the list (after `t_delete`, or superseded
    /// by a newer version of its address).
    Removed,
}

impl EventKind {
    /// The event log's name of the kind: `joined`, `suspected`, `alive`,
    /// `failed`, `left` or `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Joined => "joined",
            EventKind::Suspected => "suspected",
            EventKind::Alive => "alive",
            EventKind::Failed => "failed",
            EventKind::Left => "left",
            EventKind::Removed => "removed",
        }
    }

    /// The kind the event log names `name`, if it is one.
    pub fn from_name(name: &str) -> Option<EventKind> {
        Some(match name {
            "joined" => EventKind::Joined,
            "suspected" => EventKind::Suspected,
            "alive" => EventKind::Alive,
            "failed" => EventKind::Failed,
            "left" => EventKind::Left,
            "removed" => EventKind::Removed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One membership event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When it happened, on the driver's clock.
    pub at: Time,
    /// The node that saw it.
    pub observer: NodeId,
    /// What happened.
    pub kind: EventKind,
    /// The member it happened to.
    pub member: NodeId,
    /// The member's incarnation at that moment.
    pub incarnation: Incarnation,
    /// The failure detector the observer runs.
    pub detector: Arc<str>,
}
