//! The one error type of the wire crate.

/// What can go wrong turning bytes into messages and back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A `IP:PORT#VERSION` string that does not parse.
    #[error("bad node id {input:?}: {why}")]
    BadNodeId {
        /// The offending input (first 80 characters).
        input: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The encoded message does not fit the limit (datagram limit or buffer).
    /// Nothing was sent: a message is never truncated.
    #[error("encoded message needs more than {limit} bytes (the limit)")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The serializer refused the value.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// The input is not a well-formed message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A well-formed message of a kind this build does not know: a newer peer.
    #[error("unknown message kind (newer peer?): {0}")]
    UnknownKind(String),
    /// A well-formed envelope of a protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedProtocol(u8),
    /// A TCP frame whose length prefix exceeds the maximum frame size; refused
    /// before anything was allocated for it.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The length the prefix announced.
        size: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The connection closed in the middle of a frame.
    #[error("connection closed mid-frame ({got} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced.
        want: usize,
    },
    /// An I/O error on the underlying stream.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
