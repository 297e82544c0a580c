//! The one error type of the introducer crate.

use std::net::SocketAddr;
use std::time::Duration;

/// What can go wrong serving or asking for joins.
#[derive(Debug, thiserror::Error)]
pub enum IntroducerError {
    /// The join list was empty: there is nobody to ask.
    #[error("no introducer address to join through")]
    NoIntroducers,
    /// No introducer admitted us within the join budget.
    #[error("no introducer answered within {budget:?} after {attempts} attempts (tried {tried})")]
    JoinTimedOut {
        /// The budget that ran out.
        budget: Duration,
        /// How many join requests were attempted.
        attempts: u32,
        /// The addresses tried, comma-separated.
        tried: String,
    },
    /// An introducer refused the join.
    #[error("join refused by {by}: {reason}")]
    JoinRefused {
        /// The introducer that refused.
        by: SocketAddr,
        /// Its reason, in words.
        reason: String,
    },
    /// A socket operation of the service failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
