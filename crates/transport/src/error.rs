//! The one error type of the transport crate.

use std::net::SocketAddr;

/// What can go wrong sending a request or reading its answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Connecting, writing or reading failed (refused, reset, timed out).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes were not a message of ours.
    #[error("{0}")]
    Wire(#[from] rumor_wire::WireError),
    /// A sealed frame did not open: wrong key, other cluster, tampered.
    #[error("frame from {peer} did not open: {cause}")]
    Unsealed {
        /// Who sent it.
        peer: SocketAddr,
        /// Why it did not open.
        cause: rumor_seal::OpenError,
    },
    /// Sealing failed (the keyring could not be read, or the system
    /// random source failed).
    #[error("cannot seal a frame: {0}")]
    Seal(#[from] rumor_seal::SealError),
    /// The other side closed the connection before answering.
    #[error("{peer} closed the connection without an answer")]
    NoAnswer {
        /// Who was asked.
        peer: SocketAddr,
    },
}
