//! The one error type of rumor-viz.

use std::path::PathBuf;

/// What can go wrong while loading, fetching or drawing a replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VizError {
    /// A file or directory given as input could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The inputs held no event at all.
    #[error("no events found in the inputs")]
    NoEvents,
    /// Talking to an agent failed.
    #[error("agent {agent}: {why}")]
    Agent {
        /// The agent asked.
        agent: std::net::SocketAddr,
        /// What went wrong.
        why: String,
    },
    /// A wire-level failure (connect, frame, decode).
    #[error(transparent)]
    Wire(#[from] rumor_wire::WireError),
    /// SDL refused something (window, renderer, surface, drawing).
    #[error("SDL: {0}")]
    Sdl(String),
    /// Writing a PNG failed.
    #[error("cannot write {path}: {why}")]
    Png {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// A command-line value did not parse.
    #[error("bad {what} {value:?}: {why}")]
    BadArgument {
        /// Which argument.
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it was refused.
        why: String,
    },
}

impl From<sdl3::Error> for VizError {
    fn from(e: sdl3::Error) -> VizError {
        VizError::Sdl(e.to_string())
    }
}
