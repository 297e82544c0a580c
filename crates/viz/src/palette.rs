//! The colours of the replay: a dark background and one clear colour per state.

use crate::Status;

/// An sRGB colour with alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

/// Window background.
pub const BACKGROUND: Rgba = Rgba(16, 18, 24, 255);
/// Panel and timeline background.
pub const PANEL: Rgba = Rgba(27, 30, 40, 255);
/// Faint guides: the ring, separators.
pub const GUIDE: Rgba = Rgba(48, 53, 68, 255);
/// Main text.
pub const TEXT: Rgba = Rgba(222, 226, 234, 255);
/// Secondary text.
pub const DIM: Rgba = Rgba(136, 143, 160, 255);
/// Headings.
pub const ACCENT: Rgba = Rgba(130, 170, 255, 255);
/// The halo marking a new version of a restarted node.
pub const RESTARTED: Rgba = Rgba(64, 208, 232, 255);
/// The ring marking the observer whose view is shown.
pub const SELECTED: Rgba = Rgba(255, 255, 255, 255);
/// A member that appeared but that the current view does not know.
pub const UNKNOWN: Rgba = Rgba(70, 75, 90, 255);
/// The play-head on the timeline.
pub const CURSOR: Rgba = Rgba(255, 255, 255, 255);

/// The colour of a member in `status`.
pub fn status_colour(status: Status) -> Rgba {
    match status {
        Status::Alive => Rgba(72, 199, 128, 255),
        Status::Suspected => Rgba(245, 181, 50, 255),
        Status::Failed => Rgba(235, 64, 72, 255),
        Status::Left => Rgba(116, 136, 255, 255),
        Status::Removed => Rgba(96, 100, 114, 255),
    }
}

/// The colour of the timeline markers for joins.
pub const JOIN_MARK: Rgba = Rgba(72, 199, 128, 255);
/// The colour of the timeline markers for leaves.
pub const LEAVE_MARK: Rgba = Rgba(116, 136, 255, 255);
/// The colour of crash markers and detection edges.
pub const FAIL_MARK: Rgba = Rgba(235, 64, 72, 255);
