//! Counters describing a queue's life so far.

/// A snapshot of a queue's counters, from [`crate::Consumer::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams accepted by producers.
    pub pushed: u64,
    /// Datagrams refused because the queue was full.
    pub dropped: u64,
    /// Swaps performed by the consumer, empty ones included.
    pub swaps: u64,
    /// The most datagrams one swap handed to the consumer.
    pub largest_batch: u64,
}
