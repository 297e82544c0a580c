//! The producing side: copies datagrams into the back buffer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Full;
use crate::channel::{Shared, State};

/// Appends datagrams to a queue. Cheap to clone; every clone feeds the same
/// consumer. `Send + Sync`, so it may also be shared by reference.
#[derive(Debug, Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl Producer {
    pub(crate) fn new(shared: Arc<Shared>) -> Producer {
        Producer { shared }
    }

    /// Copies `datagram`, received from `from`, into the queue.
    ///
    /// Never blocks beyond the short lock every producer and the consumer's
    /// swap take. If the queue is full the datagram is dropped, counted in
    /// [`crate::Stats::dropped`], and the reason returned; the datagrams
    /// already queued are kept. Allocates only while the back arena grows to
    /// its high-water mark.
    pub fn push(&self, from: SocketAddr, datagram: &[u8]) -> Result<(), Full> {
        let mut state = self.shared.state.lock();
        let was_empty = state.back.is_empty();
        state.append(&self.shared.limits, from, datagram)?;
        let wake = was_empty && self.mark_queued(&state);
        drop(state);
        if wake {
            self.shared.ready.notify_one();
        }
        Ok(())
    }

    /// Copies several datagrams into the queue under one lock, in order, as
    /// a listener that received them together (`recvmmsg`) would.
    ///
    /// Each datagram is admitted or dropped exactly as [`Producer::push`]
    /// would; returns how many were queued.
    pub fn push_batch<'a, I>(&self, datagrams: I) -> usize
    where
        I: IntoIterator<Item = (SocketAddr, &'a [u8])>,
    {
        let mut state = self.shared.state.lock();
        let was_empty = state.back.is_empty();
        let mut queued = 0;
        for (from, datagram) in datagrams {
            if state.append(&self.shared.limits, from, datagram).is_ok() {
                queued += 1;
            }
        }
        let wake = was_empty && queued > 0 && self.mark_queued(&state);
        drop(state);
        if wake {
            self.shared.ready.notify_one();
        }
        queued
    }

    /// Called under the lock by the push that made the back buffer
    /// non-empty: raises the flag the consumer checks before sleeping, and says
    /// whether the consumer sleeps and must be notified. Only that first
    /// datagram of a batch can find the consumer asleep, since it sleeps
    /// only while the back buffer is empty.
    fn mark_queued(&self, state: &State) -> bool {
        self.shared.queued.store(true, Ordering::Release);
        state.consumer_sleeping
    }

    /// Whether the consumer is asleep on the condition variable right now.
    #[cfg(test)]
    pub(crate) fn consumer_sleeping(&self) -> bool {
        self.shared.state.lock().consumer_sleeping
    }
}
