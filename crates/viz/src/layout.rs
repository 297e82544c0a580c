//! Where things go on screen: the ring, the panel, the timeline, and the
//! position of every member. Pure arithmetic, so it is tested without SDL.

use std::f32::consts::TAU;

use crate::{Millis, Replay};

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Area {
    /// Whether the point lies inside.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x && x < self.x + self.w && y >= self.y && y < self.y + self.h
    }
}

/// The screen split for one window size and member count.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The whole output.
    pub screen: Area,
    /// The side panel (time, counts, latencies).
    pub panel: Area,
    /// The timeline along the bottom.
    pub timeline: Area,
    /// The strip of the timeline where time maps to x.
    pub track: Area,
    /// Centre of the ring.
    pub centre: (f32, f32),
    /// Radius of the ring.
    pub radius: f32,
    /// Radius of one member's disc.
    pub member_radius: f32,
    slots: usize,
}

/// Height of the timeline strip.
const TIMELINE_H: f32 = 64.0;

impl Layout {
    /// The layout of a `width`×`height` output showing `slots` ring slots,
    /// with room for labels of 15 characters.
    pub fn new(width: u32, height: u32, slots: usize) -> Layout {
        Layout::with_labels(width, height, slots, 15)
    }

    /// The layout of the whole replay on a `width`×`height` output, with
    /// room for its slot labels.
    pub fn for_replay(width: u32, height: u32, replay: &Replay) -> Layout {
        let slots = replay.slots().len();
        let longest = (0..slots as u32)
            .map(|s| replay.slot_label(s).len())
            .max()
            .unwrap_or(0);
        Layout::with_labels(width, height, slots, longest)
    }

    /// The layout of a `width`×`height` output showing `slots` ring slots
    /// whose labels are up to `label_chars` long.
    pub fn with_labels(width: u32, height: u32, slots: usize, label_chars: usize) -> Layout {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        let panel_w = (w * 0.3).clamp(260.0, 360.0).min(w * 0.5);
        let timeline = Area {
            x: 0.0,
            y: (h - TIMELINE_H).max(0.0),
            w,
            h: TIMELINE_H.min(h),
        };
        let panel = Area {
            x: w - panel_w,
            y: 0.0,
            w: panel_w,
            h: timeline.y,
        };
        let ring_w = w - panel_w;
        let ring_h = timeline.y;
        let centre = (ring_w / 2.0, ring_h / 2.0 + 6.0);
        let radius = if slots <= LABELLED_SLOTS {
            let label_w = 8.0 * label_chars as f32 + 30.0;
            (ring_w / 2.0 - label_w).min(ring_h / 2.0 - 52.0)
        } else {
            ring_w.min(ring_h) / 2.0 - 24.0
        }
        .max(8.0);
        let spacing = TAU * radius / slots.max(1) as f32;
        let member_radius = (spacing * 0.38).clamp(1.5, 14.0);
        let track = Area {
            x: timeline.x + 64.0,
            y: timeline.y + 18.0,
            w: (w - 128.0).max(1.0),
            h: 30.0,
        };
        Layout {
            screen: Area {
                x: 0.0,
                y: 0.0,
                w,
                h,
            },
            panel,
            timeline,
            track,
            centre,
            radius,
            member_radius,
            slots,
        }
    }

    /// Whether members carry address labels (only when few enough to read).
    pub fn labels(&self) -> bool {
        self.slots <= LABELLED_SLOTS
    }

    /// The angle of `slot`, clockwise from the top.
    pub fn slot_angle(&self, slot: u32) -> f32 {
        TAU * slot as f32 / self.slots.max(1) as f32 - TAU / 4.0
    }

    /// The centre of `slot`'s disc.
    pub fn slot_position(&self, slot: u32) -> (f32, f32) {
        let a = self.slot_angle(slot);
        (
            self.centre.0 + self.radius * a.cos(),
            self.centre.1 + self.radius * a.sin(),
        )
    }

    /// The slot whose disc is under (or nearest within a few pixels of) the point.
    pub fn slot_at(&self, x: f32, y: f32) -> Option<u32> {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        let distance = (dx * dx + dy * dy).sqrt();
        let reach = self.member_radius + 4.0;
        if (distance - self.radius).abs() > reach || self.slots == 0 {
            return None;
        }
        let turn = (dy.atan2(dx) + TAU / 4.0).rem_euclid(TAU) / TAU;
        let slot = (turn * self.slots as f32).round() as usize % self.slots;
        let (sx, sy) = self.slot_position(slot as u32);
        ((x - sx).hypot(y - sy) <= reach).then_some(slot as u32)
    }

    /// The x coordinate of replay time `at` on the timeline.
    pub fn time_x(&self, at: Millis, duration: Millis) -> f32 {
        let fraction = if duration == 0 {
            0.0
        } else {
            at.min(duration) as f32 / duration as f32
        };
        self.track.x + fraction * self.track.w
    }

    /// The replay time under x on the timeline, or `None` if the point is not on it.
    pub fn time_at(&self, x: f32, y: f32, duration: Millis) -> Option<Millis> {
        if !self.timeline.contains(x, y) {
            return None;
        }
        let fraction = ((x - self.track.x) / self.track.w).clamp(0.0, 1.0);
        Some((fraction as f64 * duration as f64).round() as Millis)
    }
}

/// Up to this many slots, members are labelled with their address.
pub const LABELLED_SLOTS: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_is_found_where_it_is_drawn() {
        for slots in [1, 3, 12, 1000] {
            let layout = Layout::new(1280, 800, slots);
            for slot in 0..slots as u32 {
                let (x, y) = layout.slot_position(slot);
                assert_eq!(layout.slot_at(x, y), Some(slot), "{slots} slots");
            }
            assert_eq!(layout.slot_at(layout.centre.0, layout.centre.1), None);
        }
    }

    #[test]
    fn areas_do_not_overlap_and_timeline_maps_both_ways() {
        let layout = Layout::new(1280, 800, 10);
        let (cx, cy) = layout.centre;
        assert!(cx + layout.radius < layout.panel.x);
        assert!(cy + layout.radius < layout.timeline.y);
        let x = layout.time_x(30_000, 60_000);
        let y = layout.track.y + 1.0;
        let at = layout.time_at(x, y, 60_000).unwrap();
        assert!(at.abs_diff(30_000) <= 60_000 / layout.track.w as u64 + 1);
        assert_eq!(layout.time_at(x, 10.0, 60_000), None);
    }

    #[test]
    fn tiny_outputs_do_not_panic() {
        let layout = Layout::new(1, 1, 5);
        let _ = layout.slot_at(0.0, 0.0);
        let _ = layout.time_at(0.0, 0.0, 0);
    }
}
