//! The state shared by the producers and the consumer of one queue, and the
//! function that creates the pair.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::{Condvar, Mutex};

use crate::arena::Arena;
use crate::{Consumer, Full, Limits, Producer};

/// Creates a queue bounded by `limits`: any number of producers (clone the
/// [`Producer`]) and one [`Consumer`].
pub fn channel(limits: Limits) -> (Producer, Consumer) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        ready: Condvar::new(),
        queued: AtomicBool::new(false),
        limits,
    });
    (Producer::new(Arc::clone(&shared)), Consumer::new(shared))
}

/// What producers and the consumer share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The back buffer and the counters producers update.
    pub(crate) state: Mutex<State>,
    /// Signalled when the back buffer goes from empty to non-empty.
    pub(crate) ready: Condvar,
    /// Whether the back buffer holds anything. Written only under the lock
    /// (by the first push of a batch and by the swap), read without it by a
    /// consumer checking before it takes the lock to sleep.
    pub(crate) queued: AtomicBool,
    /// The bounds of the back buffer.
    pub(crate) limits: Limits,
}

/// Everything behind the lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The buffer producers append to; the consumer swaps it for its front.
    pub(crate) back: Arena,
    /// Datagrams accepted so far.
    pub(crate) pushed: u64,
    /// Datagrams refused so far.
    pub(crate) dropped: u64,
    /// True while the consumer sleeps on the condition variable: the only
    /// time a producer needs to notify it.
    pub(crate) consumer_sleeping: bool,
}

impl State {
    /// Appends `datagram` to the back buffer if it fits in `limits`, else
    /// counts it as dropped.
    pub(crate) fn append(
        &mut self,
        limits: &Limits,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Full> {
        if self.back.len() >= limits.max_messages {
            self.dropped += 1;
            return Err(Full::Messages {
                limit: limits.max_messages,
            });
        }
        let queued = self.back.byte_len();
        if datagram.len() > limits.max_bytes.saturating_sub(queued) {
            self.dropped += 1;
            return Err(Full::Bytes {
                queued,
                len: datagram.len(),
                limit: limits.max_bytes,
            });
        }
        self.back.push(from, datagram);
        self.pushed += 1;
        Ok(())
    }
}
