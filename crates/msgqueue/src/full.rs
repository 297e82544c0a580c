//! The one error of this crate: a datagram refused because the queue is full.

/// Why [`crate::Producer::push`] dropped a datagram. The drop is already
/// counted in [`crate::Stats::dropped`]; the caller need not do anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Full {
    /// The queue already holds [`crate::Limits::max_messages`] datagrams.
    #[error("queue full: {limit} datagrams already queued")]
    Messages {
        /// The message bound in force.
        limit: usize,
    },
    /// The datagram's bytes would take the queue past [`crate::Limits::max_bytes`].
    #[error(
        "queue full: {queued} bytes queued, a {len}-byte datagram would pass the {limit}-byte bound"
    )]
    Bytes {
        /// Payload bytes already queued.
        queued: usize,
        /// The refused datagram's length.
        len: usize,
        /// The byte bound in force.
        limit: usize,
    },
}
