//! `rumor-viz`: replay a rumor cluster's event logs in a window, or render
//! them headless to PNG.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use rumor_viz::window::{self, FrameTimes, WindowOptions};
use rumor_viz::{
    FrameInfo, Headless, LoadedEvents, Replay, Scene, Viewpoint, VizError, agent_source, load_paths,
};

/// Replay what every node of a rumor cluster saw: joins, suspicions, failures, leaves.
#[derive(Parser, Debug)]
#[command(name = "rumor-viz", version)]
struct Cli {
    /// events.jsonl files, or directories searched recursively for them.
    events: Vec<PathBuf>,
    /// Fetch every member's events.jsonl from a running cluster through dgrep.
    #[arg(long, value_name = "IP:PORT")]
    agent: Option<SocketAddr>,
    /// How long to wait for the agents' answers.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Render without a display (needs --out or --frames).
    #[arg(long)]
    headless: bool,
    /// Replay time to show (headless) or start at (window), counted from the
    /// earliest event (e.g. 12s, 1m30s, 2.5s).
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration)]
    at: Option<Duration>,
    /// PNG file to write the frame at --at to.
    #[arg(long, value_name = "FILE.png")]
    out: Option<PathBuf>,
    /// Directory to write the whole replay to, as numbered PNGs.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Frames per second of output for --frames (one frame every SPEED/FPS seconds of replay).
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// Replay speed for --frames (replay seconds per second of output).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Output size (window size in window mode).
    #[arg(long, value_name = "WxH", default_value = "1280x800", value_parser = parse_size)]
    size: (u32, u32),
    /// See the cluster through this node's own log instead of the majority.
    #[arg(long, value_name = "IP:PORT#VERSION")]
    observer: Option<String>,
    /// SDL render driver for the window (software, opengl, ...); SDL picks by default.
    #[arg(long)]
    renderer: Option<String>,
    /// Start playing at once (window mode).
    #[arg(long)]
    play: bool,
    /// Benchmark: draw N frames spread over the whole replay as fast as
    /// possible (in the window, or headless with --headless) and print frame times.
    #[arg(long, value_name = "N")]
    bench_frames: Option<u32>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or("expected WxH, e.g. 1280x800")?;
    let w: u32 = w.parse().map_err(|_| format!("bad width {w:?}"))?;
    let h: u32 = h.parse().map_err(|_| format!("bad height {h:?}"))?;
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err("width and height must be between 16 and 16384".into());
    }
    Ok((w, h))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rumor-viz: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a result line; a closed stdout (`| head`) is not an error worth a panic.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn load(cli: &Cli) -> Result<LoadedEvents, VizError> {
    let mut loaded = if cli.events.is_empty() {
        LoadedEvents::default()
    } else {
        load_paths(&cli.events)?
    };
    if let Some(agent) = cli.agent {
        let fetched = agent_source::fetch_events(agent, cli.timeout)?;
        eprintln!(
            "rumor-viz: fetched {} events from {} members through {agent}",
            fetched.loaded.events.len(),
            fetched.answered.len()
        );
        for (node, why) in &fetched.missing {
            eprintln!("rumor-viz: {node}: {why}");
        }
        loaded.sources += fetched.loaded.sources;
        loaded.events.extend(fetched.loaded.events);
        loaded.malformed.extend(fetched.loaded.malformed);
        loaded.merge_by_time();
    }
    for bad in &loaded.malformed {
        eprintln!("{bad}");
    }
    Ok(loaded)
}

fn run(cli: &Cli) -> Result<(), VizError> {
    if cli.events.is_empty() && cli.agent.is_none() {
        return Err(VizError::BadArgument {
            what: "input",
            value: String::new(),
            why: "give events.jsonl files or directories, or --agent IP:PORT".into(),
        });
    }
    let loaded = load(cli)?;
    let replay = Replay::new(&loaded.events)?;
    let viewpoint = match &cli.observer {
        None => Viewpoint::Majority,
        Some(text) => {
            let bad = |why: &str| VizError::BadArgument {
                what: "observer",
                value: text.clone(),
                why: why.into(),
            };
            let id = text.parse().map_err(|_| bad("not IP:PORT#VERSION"))?;
            let member = replay
                .member_index(&id)
                .ok_or_else(|| bad("not in the logs"))?;
            let row = replay.members()[member as usize]
                .observer
                .ok_or_else(|| bad("kept no log"))?;
            Viewpoint::Observer(row)
        }
    };
    let at = cli.at.map(|d| d.as_millis() as u64);
    if cli.headless {
        headless(cli, &replay, viewpoint, at)
    } else {
        let options = WindowOptions {
            size: cli.size,
            renderer: cli.renderer.clone(),
            viewpoint,
            autoplay: cli.play,
            start_at: at.unwrap_or(0),
            bench_frames: cli.bench_frames,
        };
        if let Some(times) = window::run(&replay, &options)? {
            say(&format!("window: {times}"));
        }
        Ok(())
    }
}

fn headless(
    cli: &Cli,
    replay: &Replay,
    viewpoint: Viewpoint,
    at: Option<u64>,
) -> Result<(), VizError> {
    let (w, h) = cli.size;
    let mut canvas = Headless::new(w, h)?;
    let mut scene = Scene::new(replay);
    let info = FrameInfo {
        viewpoint,
        playing: false,
        speed: 1.0,
    };
    if let Some(n) = cli.bench_frames {
        let n = n.max(1);
        let mut frames = Vec::with_capacity(n as usize);
        for i in 0..u64::from(n) {
            let start = Instant::now();
            scene.seek(replay, replay.duration() * (i + 1) / u64::from(n));
            canvas.render(replay, &scene, &info)?;
            frames.push(start.elapsed());
        }
        let times = FrameTimes {
            renderer: "software, surface".into(),
            size: (w, h),
            frames,
        };
        say(&format!("headless: {times}"));
        // A backward seek replays the history from the start: its worst case.
        let start = Instant::now();
        let mut rebuilt = Scene::new(replay);
        rebuilt.seek(replay, replay.duration());
        say(&format!(
            "scene: {} events, {} members, {} observers; a seek from the start to the end takes {:.2} ms",
            replay.events().len(),
            replay.members().len(),
            replay.observers().len(),
            start.elapsed().as_secs_f64() * 1000.0
        ));
        return Ok(());
    }
    let mut wrote = false;
    if let Some(out) = &cli.out {
        let at = at.ok_or(VizError::BadArgument {
            what: "--at",
            value: String::new(),
            why: "--out needs --at TIME".into(),
        })?;
        scene.seek(replay, at);
        canvas.render(replay, &scene, &info)?.write_png(out)?;
        wrote = true;
    }
    if let Some(dir) = &cli.frames {
        if !(cli.fps > 0.0 && cli.fps.is_finite() && cli.speed > 0.0 && cli.speed.is_finite()) {
            return Err(VizError::BadArgument {
                what: "--fps/--speed",
                value: format!("{}/{}", cli.fps, cli.speed),
                why: "must be positive".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| VizError::Read {
            path: dir.clone(),
            source,
        })?;
        let step = 1000.0 * cli.speed / cli.fps;
        let count = (replay.duration() as f64 / step).floor() as u64 + 1;
        let mut playing = FrameInfo {
            playing: true,
            speed: cli.speed,
            ..info
        };
        for i in 0..count {
            let at = ((i as f64 * step) as u64).min(replay.duration());
            playing.playing = i + 1 < count;
            scene.seek(replay, at);
            canvas
                .render(replay, &scene, &playing)?
                .write_png(&dir.join(format!("frame-{i:06}.png")))?;
        }
        eprintln!("rumor-viz: wrote {count} frames to {}", dir.display());
        wrote = true;
    }
    if !wrote {
        return Err(VizError::BadArgument {
            what: "--headless",
            value: String::new(),
            why: "needs --out FILE.png (with --at) or --frames DIR, or --bench-frames N".into(),
        });
    }
    Ok(())
}
