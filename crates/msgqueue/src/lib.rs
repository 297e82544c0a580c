//! rumor-msgqueue: a double-buffered datagram queue between receiver
//! threads and one main loop.
//!
//! Producers (listener threads) copy each datagram and its source address
//! into the *back* buffer under a short [`parking_lot`] lock. The single
//! consumer (the main loop) swaps the back buffer with its *front* buffer in
//! O(1) under the same lock, then walks the whole batch as borrowed `&[u8]`
//! slices without holding any lock, so producers keep appending meanwhile.
//! Each buffer owns a private arena: one growable byte region plus an index
//! of `(source, offset, length)` records, both cleared but never freed when a
//! [`Batch`] is dropped. Once the arenas have grown to the traffic's
//! high-water mark, no datagram causes a heap allocation.
//!
//! The queue is bounded by bytes and by messages ([`Limits`]). When a
//! datagram does not fit, it is dropped (the newest one loses; what is queued
//! stays), counted in [`Stats::dropped`], and [`Producer::push`] says why.
//! UDP is lossy anyway: a listener must never block on a slow main loop.
//!
//! The consumer can [`Consumer::wait`] with a timeout, since the main loop
//! also has timers to serve. Producers signal only when the back buffer goes
//! from empty to non-empty while the consumer sleeps, so a busy stream costs
//! at most one notification per batch, not one per datagram; and a
//! consumer that finds the queued flag raised returns without taking the
//! lock, so under load no system call is needed at all. It never spins:
//! with nothing queued it sleeps on the condition variable.
//!
//! # What it is not
//!
//! - Not a general MPMC channel: there is exactly one [`Consumer`], and items
//!   are byte slices copied in, not owned values moved through.
//! - Not a backpressure mechanism: producers are never blocked by a full
//!   queue, they lose datagrams instead. Use a bounded channel where losing
//!   an item is not acceptable.
//! - Not for long-lived data: a batch is valid until it is dropped; decode or
//!   copy what must outlive it (the member list lives in the membership core).
//! - Not free for a mostly idle receiver: a datagram handed to a sleeping
//!   consumer wakes two threads (the receiver, then the consumer). Where
//!   the main loop is quick, reading the socket on the loop's own thread
//!   costs one wake-up instead; `rumor agent` does that (its README has
//!   the measurements). The queue pays off where the main loop may be slow
//!   and bursts must be taken off the socket meanwhile.
//!
//! # Example
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Duration;
//! use rumor_msgqueue::{channel, Limits};
//!
//! let (producer, mut consumer) = channel(Limits::default());
//! let listener = std::thread::spawn(move || {
//!     let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
//!     producer.push(from, b"ping").expect("an empty queue has room");
//! });
//!
//! assert!(consumer.wait(Duration::from_secs(10)));
//! let batch = consumer.swap();
//! for (from, datagram) in batch.iter() {
//!     assert_eq!(from.port(), 4000);
//!     assert_eq!(datagram, b"ping");
//! }
//! drop(batch); // resets the front arena, keeping its capacity
//! listener.join().unwrap();
//! assert_eq!(consumer.stats().pushed, 1);
//! ```
#![forbid(unsafe_code)]

mod arena;
mod batch;
mod channel;
mod consumer;
mod full;
mod limits;
mod producer;
mod stats;

pub use arena::Datagrams;
pub use batch::Batch;
pub use channel::channel;
pub use consumer::Consumer;
pub use full::Full;
pub use limits::Limits;
pub use producer::Producer;
pub use stats::Stats;
