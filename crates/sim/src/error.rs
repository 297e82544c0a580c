//! The one error type of the simulator.

use std::path::PathBuf;

/// What can stop a simulation before it runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The scenario file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario or membership configuration file is not valid TOML for it.
    #[error("bad TOML in {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, on one line.
        message: String,
    },
    /// The scenario is well-formed but makes no sense (node out of range,
    /// probability above 1, ...).
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// No detector of that name is registered.
    #[error("unknown detector {name:?} (known: {known})")]
    UnknownDetector {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The membership core refused the configuration.
    #[error("membership core refused the configuration: {0}")]
    Membership(String),
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
