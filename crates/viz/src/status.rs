//! A member's state as one observer sees it, reduced to what the replay draws.

use crate::EventKind;

/// The state an observer last recorded for a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// Joined, or a suspicion was refuted.
    Alive = 0,
    /// Suspected of having failed.
    Suspected = 1,
    /// Declared failed.
    Failed = 2,
    /// Left voluntarily.
    Left = 3,
    /// Deleted from the member list.
    Removed = 4,
}

impl Status {
    /// Every status, in lifecycle order (the index of each is `as usize`).
    pub const ALL: [Status; 5] = [
        Status::Alive,
        Status::Suspected,
        Status::Failed,
        Status::Left,
        Status::Removed,
    ];

    /// The status an event leaves its member in, for its observer (none
    /// for a kind this build does not draw: the cell keeps its status).
    pub fn after(kind: EventKind) -> Option<Status> {
        Some(match kind {
            EventKind::Joined | EventKind::Alive => Status::Alive,
            EventKind::Suspected => Status::Suspected,
            EventKind::Failed => Status::Failed,
            EventKind::Left => Status::Left,
            EventKind::Removed => Status::Removed,
            _ => return None,
        })
    }

    /// A short label for legends and panels.
    pub fn label(self) -> &'static str {
        match self {
            Status::Alive => "alive",
            Status::Suspected => "suspected",
            Status::Failed => "failed",
            Status::Left => "left",
            Status::Removed => "removed",
        }
    }
}
