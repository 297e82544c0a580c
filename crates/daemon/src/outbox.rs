//! Answers off the main thread.
//!
//! An answer goes back on the connection its request came on
//! ([`rumor_transport::Reply`]); writing it can wait on a slow reader for
//! up to the write timeout, which the main thread must never do. It hands
//! each answer to a small pool of writer threads through a bounded channel,
//! and drops (with a log line) what does not fit.

use std::net::SocketAddr;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use rumor_transport::Reply;
use rumor_wire::{Envelope, Message};

enum Job {
    /// An answer on the request's own connection.
    Reply(Reply, Envelope),
}

/// The pool of writer threads.
#[derive(Debug, Clone)]
pub struct Outbox {
    queue: Sender<Job>,
    from: SocketAddr,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Reply(reply, e) => write!(f, "Reply({}, {})", reply.peer(), e.body.kind()),
        }
    }
}

impl Outbox {
    /// Starts `workers` writer threads with room for `capacity` waiting
    /// answers; each gets `timeout` to be taken. Answers name `from` (the
    /// agent's listening address) and are sealed like their request.
    pub fn spawn(
        workers: usize,
        capacity: usize,
        timeout: Duration,
        from: SocketAddr,
    ) -> std::io::Result<Outbox> {
        let (queue, pending) = crossbeam_channel::bounded::<Job>(capacity);
        for index in 0..workers.max(1) {
            let pending = pending.clone();
            std::thread::Builder::new()
                .name(format!("tcp-writer-{index}"))
                .spawn(move || {
                    while let Ok(Job::Reply(mut reply, envelope)) = pending.recv() {
                        let peer = reply.peer();
                        if let Err(e) = reply.send(&envelope, timeout) {
                            tracing::debug!(
                                "could not send {} to {peer}: {e}",
                                envelope.body.kind()
                            );
                        }
                    }
                })?;
        }
        Ok(Outbox { queue, from })
    }

    /// Answers on `reply`'s connection.
    pub fn reply(&self, reply: Reply, message: impl Into<Message>) {
        let message = message.into();
        let envelope = Envelope::new(self.from, message);
        self.push(Job::Reply(reply, envelope));
    }

    fn push(&self, job: Job) {
        let what = format!("{job:?}");
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("dropped {what}: too many answers waiting")
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("dropped {what}: writers stopped")
            }
        }
    }
}
