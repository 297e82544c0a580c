//! The one error type of the daemon crate.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can stop an agent or a command. Each variant prints as one line that
/// says what is wrong and with which input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// A command-line or configuration value that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// The configuration file could not be read or parsed.
    #[error("cannot use config file {path}: {why}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The listening address could not be bound.
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// "tcp" or "udp".
        proto: &'static str,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The data directory or one of its files could not be opened.
    #[error("cannot use data dir {path}: {source}")]
    DataDir {
        /// The directory or file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The membership core refused its configuration (unknown detector...).
    #[error("{0}")]
    Membership(#[from] rumor_membership::MembershipError),
    /// A new agent's first join found no introducer to admit it in time.
    #[error("cannot join the cluster: {0}")]
    Join(String),
    /// A control command got no usable answer from the agent.
    #[error("agent {agent}: {why}")]
    Agent {
        /// The agent asked.
        agent: SocketAddr,
        /// What went wrong.
        why: String,
    },
    /// Spawning or driving local agent processes (demo, benchmarks) failed.
    #[error("{0}")]
    Cluster(String),
    /// Another I/O failure, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system's reason.
        source: std::io::Error,
    },
}

impl DaemonError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> DaemonError {
        DaemonError::Io {
            what: what.into(),
            source,
        }
    }
}
