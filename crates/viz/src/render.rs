//! Drawing one frame of the replay on any SDL canvas: a window or a surface.

use std::f32::consts::TAU;

use sdl3::pixels::Color;
use sdl3::render::{BlendMode, Canvas, FPoint, FRect, RenderTarget};

use crate::painter::{Painter, colour, text_width};
use crate::palette::{self, Rgba};
use crate::{Layout, MarkerKind, Millis, Replay, Scene, Status, Viewpoint, VizError};

/// How long (replay time) the edge of a `failed` report stays visible.
pub const FLASH: Millis = 2_000;

/// The smallest radius of a member that is not alive, however crowded the ring.
const NOTICEABLE: f32 = 4.0;

/// Everything a frame shows besides the replay itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameInfo {
    /// Whose view the members are coloured by.
    pub viewpoint: Viewpoint,
    /// Whether the clock runs (shown in the panel).
    pub playing: bool,
    /// Replay speed (shown in the panel).
    pub speed: f64,
}

/// Draws the scene as it stands (the scene must already be at the time to show).
pub fn draw_frame<T: RenderTarget>(
    canvas: &mut Canvas<T>,
    replay: &Replay,
    scene: &Scene,
    info: &FrameInfo,
) -> Result<(), VizError> {
    let (width, height) = canvas.output_size()?;
    let layout = Layout::for_replay(width, height, replay);
    let mut painter = Painter::new(canvas);
    painter.canvas.set_blend_mode(BlendMode::Blend);
    painter.canvas.set_draw_color(colour(palette::BACKGROUND));
    painter.canvas.clear();
    draw_ring(&mut painter, &layout)?;
    draw_edges(&mut painter, replay, scene, &layout)?;
    draw_members(&mut painter, replay, scene, info, &layout)?;
    draw_panel(&mut painter, replay, scene, info, &layout)?;
    draw_timeline(&mut painter, replay, scene, &layout)?;
    Ok(())
}

fn draw_ring<T: RenderTarget>(p: &mut Painter<'_, T>, layout: &Layout) -> Result<(), VizError> {
    let (cx, cy) = layout.centre;
    let points: Vec<FPoint> = (0..=180)
        .map(|i| {
            let a = TAU * i as f32 / 180.0;
            FPoint::new(cx + layout.radius * a.cos(), cy + layout.radius * a.sin())
        })
        .collect();
    p.canvas.set_draw_color(colour(palette::GUIDE));
    p.canvas.draw_lines(points.as_slice())?;
    Ok(())
}

fn draw_edges<T: RenderTarget>(
    p: &mut Painter<'_, T>,
    replay: &Replay,
    scene: &Scene,
    layout: &Layout,
) -> Result<(), VizError> {
    let at = scene.at();
    let events = replay.events();
    let failed = replay.failed_events();
    let from = failed.partition_point(|&i| events[i as usize].at + FLASH <= at);
    let to = failed.partition_point(|&i| events[i as usize].at <= at);
    let members = replay.members();
    let Rgba(r, g, b, _) = palette::FAIL_MARK;
    p.canvas.set_blend_mode(BlendMode::Blend);
    // Lines, not filled quads: the software renderer fills a triangle by
    // scanning its bounding box, which for a long diagonal is most of the ring.
    for &i in &failed[from..to] {
        let e = events[i as usize];
        let age = (at - e.at) as f32 / FLASH as f32;
        let alpha = (255.0 * (1.0 - age).powf(1.5)).clamp(30.0, 255.0) as u8;
        p.canvas.set_draw_color(Color::RGBA(r, g, b, alpha));
        let (x0, y0) = layout.slot_position(members[e.observer as usize].slot);
        let (x1, y1) = member_position(replay, layout, e.member, at);
        // Two pixels wide: a second line offset across the edge's main direction.
        let (dx, dy) = if (x1 - x0).abs() > (y1 - y0).abs() {
            (0.0, 1.0)
        } else {
            (1.0, 0.0)
        };
        p.canvas
            .draw_line(FPoint::new(x0, y0), FPoint::new(x1, y1))?;
        p.canvas
            .draw_line(FPoint::new(x0 + dx, y0 + dy), FPoint::new(x1 + dx, y1 + dy))?;
    }
    Ok(())
}

/// Where `member` is drawn at `at`: on the ring if it is the newest version
/// of its address by then, otherwise one step inside per newer version.
fn member_position(replay: &Replay, layout: &Layout, member: u32, at: Millis) -> (f32, f32) {
    let slot = replay.members()[member as usize].slot;
    let versions = replay.slot_members(slot);
    let shown = replay.slot_member_at(slot, at);
    let index = |m: u32| versions.iter().position(|&v| v == m).unwrap_or(0);
    let depth = shown.map_or(0, |s| index(s).saturating_sub(index(member)));
    if depth == 0 {
        return layout.slot_position(slot);
    }
    let inward = layout.radius - (2.6 * layout.member_radius).max(9.0) * depth as f32;
    let angle = layout.slot_angle(slot);
    (
        layout.centre.0 + inward * angle.cos(),
        layout.centre.1 + inward * angle.sin(),
    )
}

fn draw_members<T: RenderTarget>(
    p: &mut Painter<'_, T>,
    replay: &Replay,
    scene: &Scene,
    info: &FrameInfo,
    layout: &Layout,
) -> Result<(), VizError> {
    let r = layout.member_radius;
    let halo = (r * 0.3).max(1.5);
    let selected = match info.viewpoint {
        Viewpoint::Observer(row) => Some(replay.observers()[row as usize]),
        Viewpoint::Majority => None,
    };
    let mut labels = Vec::new();
    let mut news = Vec::new();
    for slot in 0..replay.slots().len() as u32 {
        let Some(member) = replay.slot_member_at(slot, scene.at()) else {
            continue;
        };
        let position = layout.slot_position(slot);
        // Earlier versions of a restarted node that this view still holds
        // (not yet removed): a smaller disc just inside the ring, so a crash
        // stays visible after the process came back under a new version.
        let versions = replay.slot_members(slot);
        let newest = versions.iter().position(|&m| m == member).unwrap_or(0);
        for &old in &versions[..newest] {
            if let Some(status) = scene
                .status(info.viewpoint, old)
                .filter(|s| *s != Status::Removed)
            {
                let at = member_position(replay, layout, old, scene.at());
                p.disc(at, (r * 0.7).max(3.0), palette::status_colour(status));
            }
        }
        if selected == Some(member) {
            p.disc(position, r + halo + 4.0, palette::SELECTED);
            p.disc(position, r + halo + 2.0, palette::BACKGROUND);
        }
        if replay.members()[member as usize].restarted {
            p.disc(position, r + halo, palette::RESTARTED);
        }
        match scene.status(info.viewpoint, member) {
            Some(status @ (Status::Suspected | Status::Failed | Status::Left))
                if r < NOTICEABLE =>
            {
                news.push((position, status));
            }
            Some(status) => p.disc(position, r, palette::status_colour(status)),
            None => {
                p.disc(position, r * 0.6, palette::UNKNOWN);
            }
        }
        if layout.labels() {
            labels.push(slot);
        }
    }
    // In a crowded ring, members in trouble are drawn larger and on top, so
    // one failure among a thousand members stands out.
    news.sort_by_key(|&(_, status)| match status {
        Status::Failed => 2,
        Status::Suspected => 1,
        _ => 0,
    });
    for (position, status) in news {
        p.disc(position, NOTICEABLE + 1.0, palette::BACKGROUND);
        p.disc(position, NOTICEABLE, palette::status_colour(status));
    }
    p.flush_shapes()?;
    for slot in labels {
        let text = replay.slot_label(slot);
        let angle = layout.slot_angle(slot);
        let reach = layout.radius + r + 2.0 * halo + 8.0;
        let (x, y) = (
            layout.centre.0 + reach * angle.cos(),
            layout.centre.1 + reach * angle.sin(),
        );
        let w = text_width(&text);
        let x = if angle.cos() < -0.2 {
            x - w
        } else if angle.cos() < 0.2 {
            x - w / 2.0
        } else {
            x
        };
        let x = x.clamp(2.0, (layout.panel.x - w - 2.0).max(2.0));
        let y = if angle.sin() < -0.5 {
            y - 8.0
        } else if angle.sin() < 0.5 {
            y - 4.0
        } else {
            y
        };
        p.text(x, y, &text, palette::DIM)?;
    }
    Ok(())
}

fn seconds(ms: Millis) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn short_seconds(ms: Millis) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

fn draw_panel<T: RenderTarget>(
    p: &mut Painter<'_, T>,
    replay: &Replay,
    scene: &Scene,
    info: &FrameInfo,
    layout: &Layout,
) -> Result<(), VizError> {
    let panel = layout.panel;
    p.rect(panel.x, panel.y, panel.w, panel.h, palette::PANEL)?;
    p.rect(panel.x, panel.y, 1.0, panel.h, palette::GUIDE)?;
    let x = panel.x + 14.0;
    let max_chars = ((panel.w - 24.0) / 8.0).max(4.0) as usize;
    let fit = |s: String| -> String {
        if s.chars().count() > max_chars {
            s.chars().take(max_chars).collect()
        } else {
            s
        }
    };
    let mut y = panel.y + 14.0;
    let at = scene.at();
    p.big_text(x, y, &seconds(at), palette::TEXT)?;
    y += 22.0;
    let state = if info.playing { "playing" } else { "paused" };
    p.text(
        x,
        y,
        &fit(format!(
            "of {}  {state} x{}",
            seconds(replay.duration()),
            info.speed
        )),
        palette::DIM,
    )?;
    y += 12.0;
    if !replay.detectors().is_empty() {
        let names: Vec<&str> = replay.detectors().iter().map(|d| &**d).collect();
        p.text(
            x,
            y,
            &fit(format!("detector: {}", names.join(", "))),
            palette::DIM,
        )?;
        y += 12.0;
    }
    y += 8.0;

    p.text(x, y, "VIEW", palette::ACCENT)?;
    y += 12.0;
    match info.viewpoint {
        Viewpoint::Majority => {
            let live = scene.live_observers();
            p.text(
                x,
                y,
                &fit(format!("majority of {live} live observers")),
                palette::TEXT,
            )?;
        }
        Viewpoint::Observer(row) => {
            let id = replay.members()[replay.observers()[row as usize] as usize].id;
            p.text(x, y, &fit(format!("{id}")), palette::TEXT)?;
            y += 12.0;
            let life = if scene.is_live(row) {
                "live"
            } else {
                "not live"
            };
            p.text(x, y, &fit(format!("its own log, {life}")), palette::DIM)?;
        }
    }
    y += 18.0;
    let counts = scene.counts(info.viewpoint);
    for status in Status::ALL {
        p.disc((x + 4.0, y + 4.0), 4.0, palette::status_colour(status));
        p.flush_shapes()?;
        p.text(
            x + 14.0,
            y,
            &format!("{:<10}{:>6}", status.label(), counts[status as usize]),
            palette::TEXT,
        )?;
        y += 12.0;
    }
    // The rest of the legend: the looks that are not states.
    let restarted = (0..replay.slots().len() as u32)
        .filter_map(|slot| replay.slot_member_at(slot, at))
        .filter(|&m| replay.members()[m as usize].restarted)
        .count();
    p.disc((x + 4.0, y + 4.0), 5.0, palette::RESTARTED);
    p.disc(
        (x + 4.0, y + 4.0),
        3.0,
        palette::status_colour(Status::Alive),
    );
    p.flush_shapes()?;
    p.text(
        x + 14.0,
        y,
        &format!("{:<10}{:>6}", "restarted", restarted),
        palette::TEXT,
    )?;
    y += 12.0;
    p.rect(x, y + 3.0, 9.0, 2.0, palette::FAIL_MARK)?;
    p.text(x + 14.0, y, "failed report (edge)", palette::TEXT)?;
    y += 12.0;
    p.disc((x + 4.0, y + 4.0), 5.0, palette::SELECTED);
    p.disc((x + 4.0, y + 4.0), 3.5, palette::PANEL);
    p.flush_shapes()?;
    p.text(x + 14.0, y, "observer shown (ring)", palette::DIM)?;
    y += 16.0;

    // The members this view does not consider alive.
    let mut troubled: Vec<(u32, Status)> = replay
        .members()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.first_seen <= at)
        .filter_map(|(i, _)| match scene.status(info.viewpoint, i as u32) {
            Some(s @ (Status::Suspected | Status::Failed | Status::Left)) => Some((i as u32, s)),
            _ => None,
        })
        .collect();
    troubled.sort_by_key(|&(_, s)| s);
    if !troubled.is_empty() {
        y += 4.0;
        p.text(x, y, "NOT ALIVE IN THIS VIEW", palette::ACCENT)?;
        y += 12.0;
        for &(member, status) in troubled.iter().take(5) {
            let id = replay.members()[member as usize].id;
            p.text(
                x,
                y,
                &fit(format!("{:<9} {id}", status.label())),
                palette::status_colour(status),
            )?;
            y += 11.0;
        }
        if troubled.len() > 5 {
            p.text(
                x,
                y,
                &format!("... and {} more", troubled.len() - 5),
                palette::DIM,
            )?;
            y += 11.0;
        }
    }

    // Detection latencies.
    let crashes: Vec<_> = replay
        .crashes()
        .iter()
        .filter(|c| c.first_failed <= at)
        .collect();
    y += 8.0;
    p.text(
        x,
        y,
        &fit(format!("FAILURE DETECTIONS ({})", crashes.len())),
        palette::ACCENT,
    )?;
    y += 12.0;
    let room = ((panel.y + panel.h - 70.0 - y) / 36.0).max(0.0) as usize;
    for crash in crashes.iter().rev().take(room) {
        let id = replay.members()[crash.member as usize].id;
        p.text(
            x,
            y,
            &fit(format!("{id}")),
            palette::status_colour(Status::Failed),
        )?;
        y += 11.0;
        let reporters = crash.reporters_at(at);
        let all = match crash.all_latency_at(at) {
            Some(t) => format!("all {reporters}/{} +{}", crash.expected, short_seconds(t)),
            None => format!("{reporters}/{} so far", crash.expected),
        };
        p.text(
            x,
            y,
            &fit(format!(
                " first +{}  {all}",
                short_seconds(crash.first_latency())
            )),
            palette::TEXT,
        )?;
        y += 11.0;
        let spread = crash.spread_at(at).unwrap_or(0);
        p.text(
            x,
            y,
            &fit(format!(" 1st->last failed {}", short_seconds(spread))),
            palette::DIM,
        )?;
        y += 14.0;
    }
    if crashes.len() > room {
        p.text(
            x,
            y,
            &format!("... {} earlier", crashes.len() - room),
            palette::DIM,
        )?;
    }

    let foot = panel.y + panel.h - 44.0;
    let notes = [
        (foot - 8.0, "latency: from first suspicion"),
        (foot + 3.0, "(kill time not in the logs)"),
        (foot + 19.0, "space play  +/- speed"),
        (foot + 30.0, "<- -> seek  tab view  r reset"),
    ];
    for (line_y, note) in notes {
        p.text(x, line_y, &fit(note.into()), palette::DIM)?;
    }
    Ok(())
}

fn draw_timeline<T: RenderTarget>(
    p: &mut Painter<'_, T>,
    replay: &Replay,
    scene: &Scene,
    layout: &Layout,
) -> Result<(), VizError> {
    let area = layout.timeline;
    let track = layout.track;
    let duration = replay.duration();
    p.rect(area.x, area.y, area.w, area.h, palette::PANEL)?;
    p.rect(area.x, area.y, area.w, 1.0, palette::GUIDE)?;
    p.rect(
        track.x,
        track.y + track.h / 2.0,
        track.w,
        1.0,
        palette::GUIDE,
    )?;

    // Batch the markers by colour; at most one per pixel column and kind.
    let mut last = [f32::NAN; 4];
    let mut rects: [Vec<FRect>; 4] = Default::default();
    for marker in replay.markers() {
        let x = layout.time_x(marker.at, duration).floor();
        let k = marker.kind as usize;
        if last[k] == x {
            continue;
        }
        last[k] = x;
        let (y, h) = match marker.kind {
            MarkerKind::Join => (track.y + track.h / 2.0 - 6.0, 6.0),
            MarkerKind::Leave => (track.y + track.h / 2.0 - 9.0, 9.0),
            MarkerKind::Detection => (track.y + track.h / 2.0 + 1.0, 7.0),
            MarkerKind::Crash => (track.y, track.h),
        };
        let w = if marker.kind == MarkerKind::Crash {
            2.0
        } else {
            1.0
        };
        rects[k].push(FRect::new(x, y, w, h));
    }
    let colours = [
        palette::JOIN_MARK,
        palette::LEAVE_MARK,
        palette::FAIL_MARK,
        Rgba(235, 64, 72, 150),
    ];
    for (kind, rects) in rects.iter().enumerate() {
        if !rects.is_empty() {
            p.canvas.set_draw_color(colour(colours[kind]));
            p.canvas.set_blend_mode(BlendMode::Blend);
            p.canvas.fill_rects(rects)?;
        }
    }
    let cursor = layout.time_x(scene.at(), duration);
    p.rect(
        cursor - 1.0,
        track.y - 6.0,
        2.0,
        track.h + 12.0,
        palette::CURSOR,
    )?;
    p.text(
        area.x + 10.0,
        track.y + track.h / 2.0 - 4.0,
        "0s",
        palette::DIM,
    )?;
    let end = short_seconds(duration);
    p.text(
        track.x + track.w + 8.0,
        track.y + track.h / 2.0 - 4.0,
        &end,
        palette::DIM,
    )?;
    let mut kx = track.x;
    let key = [
        ("join", palette::JOIN_MARK),
        ("leave", palette::LEAVE_MARK),
        ("crash (first failed)", palette::FAIL_MARK),
        ("detections", colours[3]),
    ];
    for (word, c) in key {
        p.rect(kx, area.y + area.h - 11.0, 2.0, 8.0, c)?;
        p.text(kx + 6.0, area.y + area.h - 11.0, word, palette::DIM)?;
        kx += text_width(word) + 22.0;
    }
    Ok(())
}
