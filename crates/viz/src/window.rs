//! The interactive window: playback controls around [`draw_frame`].
//!
//! Keys: space play/pause; `+`/`-` or up/down speed; left/right seek one
//! second (ten with shift); Home/End; Tab next observer (shift-Tab back);
//! Esc the majority view; R reset. Mouse: click the timeline to seek, click
//! a member to see the cluster through its log.

use std::ffi::CString;
use std::time::{Duration, Instant};

use sdl3::event::{Event, WindowEvent};
use sdl3::keyboard::{Keycode, Mod};
use sdl3::mouse::MouseButton;
use sdl3::render::{Canvas, create_renderer};
use sdl3::video::Window;

use crate::{FrameInfo, Layout, Millis, Player, Replay, Scene, Viewpoint, VizError, draw_frame};

/// How the window opens.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowOptions {
    /// Initial size in window coordinates.
    pub size: (u32, u32),
    /// SDL render driver (`software`, `opengl`, ...); SDL chooses if `None`.
    pub renderer: Option<String>,
    /// Viewpoint to start with.
    pub viewpoint: Viewpoint,
    /// Start playing at once.
    pub autoplay: bool,
    /// Replay time to start at.
    pub start_at: Millis,
    /// Benchmark: draw this many frames spread evenly over the whole replay
    /// as fast as possible, then close and report frame times.
    pub bench_frames: Option<u32>,
}

/// Frame times measured by a benchmark run.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameTimes {
    /// What rendered the frames (SDL's renderer name).
    pub renderer: String,
    /// Output size in pixels.
    pub size: (u32, u32),
    /// Each frame's time: scene update, drawing and present.
    pub frames: Vec<Duration>,
}

impl FrameTimes {
    /// The `q` quantile (0..=1) of the frame times.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.frames.clone();
        sorted.sort();
        let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    }

    /// Mean frame time.
    pub fn mean(&self) -> Duration {
        let total: Duration = self.frames.iter().sum();
        total / self.frames.len().max(1) as u32
    }
}

impl std::fmt::Display for FrameTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "{} frames at {}x{} ({}): mean {:.2} ms ({:.0} fps), p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.frames.len(),
            self.size.0,
            self.size.1,
            self.renderer,
            ms(self.mean()),
            1000.0 / ms(self.mean()).max(1e-9),
            ms(self.quantile(0.5)),
            ms(self.quantile(0.95)),
            ms(self.quantile(0.99)),
            ms(self.quantile(1.0)),
        )
    }
}

/// Opens the window and runs until it is closed (or the benchmark is done).
pub fn run(replay: &Replay, options: &WindowOptions) -> Result<Option<FrameTimes>, VizError> {
    if options.renderer.as_deref() == Some("software") {
        // Present the software frame straight to X11 (shared memory) rather
        // than through an OpenGL texture, which under Xvfb is llvmpipe again.
        sdl3::hint::set("SDL_FRAMEBUFFER_ACCELERATION", "0");
    }
    let sdl = sdl3::init()?;
    let video = sdl.video()?;
    let window = video
        .window("rumor-viz", options.size.0, options.size.1)
        .resizable()
        .build()
        .map_err(|e| VizError::Sdl(e.to_string()))?;
    let driver = options
        .renderer
        .as_deref()
        .map(|name| {
            CString::new(name).map_err(|_| VizError::BadArgument {
                what: "renderer",
                value: name.into(),
                why: "contains a NUL byte".into(),
            })
        })
        .transpose()?;
    let mut canvas =
        create_renderer(window, driver.as_deref()).map_err(|e| VizError::Sdl(e.to_string()))?;
    let mut events = sdl.event_pump()?;
    let mut player = Player::new(replay.duration());
    let mut scene = Scene::new(replay);
    let mut viewpoint = options.viewpoint;
    player.seek_to(options.start_at);
    if options.autoplay {
        player.play();
    }
    let frame_budget = Duration::from_micros(16_667);
    let mut bench = options
        .bench_frames
        .map(|n| (n.max(1), Vec::with_capacity(n as usize)));
    let mut last = Instant::now();
    'frames: loop {
        let frame_start = Instant::now();
        for event in events.poll_iter() {
            if !handle(&event, &mut player, &mut viewpoint, replay, &canvas) {
                break 'frames;
            }
        }
        match &bench {
            Some((n, times)) => {
                let i = times.len() as u64;
                player.seek_to(replay.duration() * (i + 1) / u64::from(*n));
            }
            None => player.advance(frame_start - last),
        }
        last = frame_start;
        scene.seek(replay, player.at());
        let info = FrameInfo {
            viewpoint,
            playing: player.is_playing(),
            speed: player.speed(),
        };
        draw_frame(&mut canvas, replay, &scene, &info)?;
        canvas.present();
        match &mut bench {
            Some((n, times)) => {
                times.push(frame_start.elapsed());
                if times.len() >= *n as usize {
                    break;
                }
            }
            None => {
                // Pace to about 60 fps when the renderer does not wait for vsync.
                if let Some(rest) = frame_budget.checked_sub(frame_start.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        }
    }
    Ok(bench.map(|(_, frames)| FrameTimes {
        renderer: canvas.renderer_name.clone(),
        size: canvas.output_size().unwrap_or(options.size),
        frames,
    }))
}

/// Applies one input event; false means quit.
fn handle(
    event: &Event,
    player: &mut Player,
    viewpoint: &mut Viewpoint,
    replay: &Replay,
    canvas: &Canvas<Window>,
) -> bool {
    match event {
        Event::Quit { .. } => return false,
        Event::KeyDown {
            keycode: Some(key),
            keymod,
            ..
        } => {
            let shift = keymod.intersects(Mod::LSHIFTMOD | Mod::RSHIFTMOD);
            let step = if shift { 10_000 } else { 1_000 };
            match key {
                Keycode::Q => return false,
                Keycode::Space => player.toggle(),
                Keycode::Plus | Keycode::KpPlus | Keycode::Equals | Keycode::Up => player.faster(),
                Keycode::Minus | Keycode::KpMinus | Keycode::Down => player.slower(),
                Keycode::Right => player.seek_by(step),
                Keycode::Left => player.seek_by(-step),
                Keycode::Home => player.seek_to(0),
                Keycode::End => player.seek_to(replay.duration()),
                Keycode::Tab => {
                    *viewpoint = next_viewpoint(*viewpoint, replay.observers().len(), shift)
                }
                Keycode::Escape => *viewpoint = Viewpoint::Majority,
                Keycode::R => {
                    player.reset();
                    *viewpoint = Viewpoint::Majority;
                }
                _ => {}
            }
        }
        Event::MouseButtonDown {
            mouse_btn: MouseButton::Left,
            x,
            y,
            ..
        } => {
            // Mouse coordinates are in window units; drawing is in pixels.
            let (ww, wh) = canvas.window().size();
            let (pw, ph) = canvas.output_size().unwrap_or((ww, wh));
            let (x, y) = (
                x * pw as f32 / ww.max(1) as f32,
                y * ph as f32 / wh.max(1) as f32,
            );
            let layout = Layout::for_replay(pw, ph, replay);
            if let Some(at) = layout.time_at(x, y, replay.duration()) {
                player.seek_to(at);
            } else if let Some(slot) = layout.slot_at(x, y) {
                if let Some(row) = replay
                    .slot_member_at(slot, player.at())
                    .and_then(|m| replay.members()[m as usize].observer)
                {
                    *viewpoint = Viewpoint::Observer(row);
                }
            } else if !layout.panel.contains(x, y) {
                *viewpoint = Viewpoint::Majority;
            }
        }
        Event::Window {
            win_event: WindowEvent::Resized(..) | WindowEvent::PixelSizeChanged(..),
            ..
        } => {}
        _ => {}
    }
    true
}

/// The viewpoint Tab moves to: majority, then each observer in turn.
pub fn next_viewpoint(current: Viewpoint, observers: usize, backwards: bool) -> Viewpoint {
    let count = observers as i64 + 1; // observers plus the majority
    let position = match current {
        Viewpoint::Majority => 0,
        Viewpoint::Observer(row) => row as i64 + 1,
    };
    let next = (position + if backwards { -1 } else { 1 }).rem_euclid(count);
    if next == 0 {
        Viewpoint::Majority
    } else {
        Viewpoint::Observer(next as u32 - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_through_observers_and_majority() {
        let mut v = Viewpoint::Majority;
        let mut seen = Vec::new();
        for _ in 0..4 {
            v = next_viewpoint(v, 3, false);
            seen.push(v);
        }
        assert_eq!(
            seen,
            [
                Viewpoint::Observer(0),
                Viewpoint::Observer(1),
                Viewpoint::Observer(2),
                Viewpoint::Majority
            ]
        );
        assert_eq!(
            next_viewpoint(Viewpoint::Majority, 3, true),
            Viewpoint::Observer(2)
        );
        assert_eq!(
            next_viewpoint(Viewpoint::Majority, 0, false),
            Viewpoint::Majority
        );
    }
}
