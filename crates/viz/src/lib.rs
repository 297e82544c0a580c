//! rumor-viz replays what every node of a rumor cluster saw: who joined, who
//! was suspected, and how the news of a crash spread, drawn with SDL3 in a
//! window or rendered headless to PNG.
//!
//! The input is the event log every agent writes (`DATA_DIR/events.jsonl`,
//! one JSON object per line; see `docs/events.md`), from any number of agents,
//! merged by time. The pieces, each in its own file:
//!
//! - [`input`]: reading logs (files or directories) and reporting malformed lines;
//! - [`agent_source`]: fetching every member's log from a running cluster through dgrep;
//! - [`Replay`]: the history indexed once (members, ring slots, markers, [`Crash`]es);
//! - [`Scene`]: what each observer, or the majority of live observers, sees at a moment;
//! - [`Layout`], [`Player`]: screen geometry and the replay clock, free of SDL;
//! - [`draw_frame`], [`Headless`], [`window`]: drawing, on a surface or in a window.
//!
//! It is not a monitoring dashboard: it replays logs, it does not follow a
//! live cluster, and it never talks to agents except to fetch their logs.
//!
//! ```
//! use rumor_viz::{LoadedEvents, Replay, Scene, Status, Viewpoint};
//!
//! let log = r#"{"ts_ms":1000,"observer":"127.0.0.1:4000#1","event":"joined","member":"127.0.0.1:4000#1","incarnation":0,"detector":"gossip"}
//! {"ts_ms":1500,"observer":"127.0.0.1:4000#1","event":"joined","member":"127.0.0.1:4001#1","incarnation":0,"detector":"gossip"}
//! {"ts_ms":4000,"observer":"127.0.0.1:4000#1","event":"failed","member":"127.0.0.1:4001#1","incarnation":0,"detector":"gossip"}"#;
//! let mut loaded = LoadedEvents::default();
//! loaded.add_log("example", log.lines().zip(1..).map(|(l, n)| (n, l.as_bytes())));
//! let replay = Replay::new(&loaded.events).unwrap();
//! let crashed = replay.member_index(&"127.0.0.1:4001#1".parse().unwrap()).unwrap();
//!
//! let mut scene = Scene::new(&replay);
//! scene.seek(&replay, 2_000); // two seconds after the earliest event
//! assert_eq!(scene.status(Viewpoint::Majority, crashed), Some(Status::Alive));
//! scene.seek(&replay, 3_000);
//! assert_eq!(scene.status(Viewpoint::Majority, crashed), Some(Status::Failed));
//! assert_eq!(replay.crashes()[0].first_failed, 3_000);
//! ```

#![forbid(unsafe_code)]

pub mod agent_source;
mod crash;
mod error;
mod event;
mod headless;
pub mod input;
mod layout;
mod marker;
mod painter;
pub mod palette;
mod player;
mod render;
mod replay;
mod scene;
mod status;
pub mod synthetic;
pub mod window;

pub use crash::Crash;
pub use error::VizError;
pub use event::{EventKind, LogEvent};
pub use headless::{Headless, Image};
pub use input::{LoadedEvents, Malformed, load_paths};
pub use layout::{Area, LABELLED_SLOTS, Layout};
pub use marker::{Marker, MarkerKind};
pub use player::{Player, SPEEDS};
pub use render::{FLASH, FrameInfo, draw_frame};
pub use replay::{Member, Millis, Replay, ReplayEvent};
pub use scene::{Scene, Viewpoint};
pub use status::Status;
