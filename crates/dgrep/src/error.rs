//! The one error type of rumor-dgrep.

use std::net::SocketAddr;

/// What can go wrong answering or asking a dgrep query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DgrepError {
    /// The request asks for more than this agent allows (pattern size or count).
    #[error("request refused: {0}")]
    Refused(String),
    /// A pattern the regex engine rejects.
    #[error("bad pattern: {0}")]
    BadPattern(String),
    /// A POSIX pattern that cannot be translated (for instance an unbalanced `\(`).
    #[error("bad pattern {pattern:?}: {why}")]
    Posix {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A `--grep-path` glob that does not parse.
    #[error("bad grep path glob {glob:?}: {why}")]
    BadGlob {
        /// The glob as configured.
        glob: String,
        /// What the glob parser said.
        why: String,
    },
    /// The agent asked for the member list did not give one.
    #[error("cannot get the member list from {agent}: {why}")]
    MemberList {
        /// The agent asked.
        agent: SocketAddr,
        /// What went wrong.
        why: String,
    },
    /// The client went away or stopped reading the results.
    #[error("cannot send results to {to}: {source}")]
    Reply {
        /// The client, as its connection shows it.
        to: SocketAddr,
        /// The underlying failure.
        #[source]
        source: rumor_transport::TransportError,
    },
    /// The keyring (`--keyring`) could not be loaded, or the cluster label
    /// is unusable.
    #[error("{0}")]
    Keyring(String),
    /// A search worker process failed, or its input made no sense.
    #[error("search worker: {0}")]
    Worker(String),
    /// A command line dgrep cannot act on (a `--members` value that names
    /// no member, a pattern file it cannot read...), refused before
    /// anything is sent.
    #[error("{0}")]
    Usage(String),
    /// Any other I/O failure.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
