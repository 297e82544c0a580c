//! rumor-benches: criterion benchmarks of rumor's hot paths, each beside a
//! baseline that says what the figure is worth.
//!
//! - `benches/queue.rs`: one producer thread hands 64-, 512- and 1,400-byte
//!   datagrams to one consumer through `rumor-msgqueue`, a bounded
//!   crossbeam channel, std's `sync_channel`, and crossbeam-queue's
//!   `ArrayQueue` and `SegQueue`; messages per second, plus heap
//!   allocations per datagram counted by a global allocator.
//! - `benches/codec.rs`: `rumor-wire` encode and decode of a detector ping,
//!   a 64-member update and a 1,000-member join response, beside a `memcpy`
//!   of the same bytes.
//!
//! This library is empty on purpose: the benchmarks are the package's bench
//! targets, which `cargo test` does not run. It is not a test suite:
//! performance targets are measured here and reported in `benches/README.md`,
//! never asserted in timed tests.
//!
//! Run them all (about three minutes on two cores):
//!
//! ```text
//! cargo bench -p rumor-benches
//! ```
#![forbid(unsafe_code)]
