//! Timeline markers: the moments worth finding again in a replay.

use crate::Millis;

/// What happened at a marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkerKind {
    /// A member's first `joined` report.
    Join,
    /// A member's first `left` report.
    Leave,
    /// A member's first `failed` report: the crash as the cluster first saw it.
    Crash,
    /// Any `failed` report: one observer's detection.
    Detection,
}

/// A point of interest on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Replay time.
    pub at: Millis,
    /// What happened.
    pub kind: MarkerKind,
    /// The member it is about (index into [`crate::Replay::members`]).
    pub member: u32,
}
