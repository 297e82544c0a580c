//! Answers off the main thread.
//!
//! An answer goes back on the connection its request came on
//! ([`rumor_transport::Reply`]); writing it can wait on a slow reader for
//! up to the write timeout, which the main thread must never do. It hands
//! each answer to a small pool of writer threads through a bounded channel,
//! and drops (with a log line) what does not fit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use rumor_seal::Sealer;
use rumor_transport::Reply;
use rumor_wire::{Envelope, Message};

enum Job {
    /// An answer on the request's own connection.
    Reply(Reply, Envelope),
    /// A message on a new connection (a dgrep refusal to the client's
    /// result listener).
    Send(SocketAddr, Envelope),
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
            Job::Send(to, e) => write!(f, "Send({to}, {})", e.body.kind()),
        }
    }
}

impl Outbox {
    /// Starts `workers` writer threads with room for `capacity` waiting
    /// answers; each gets `timeout` to be taken. Answers name `from` (the
    /// agent's listening address); new connections are sealed by `sealer`
    /// when the cluster has a keyring.
    pub fn spawn(
        workers: usize,
        capacity: usize,
        timeout: Duration,
        from: SocketAddr,
        sealer: Option<Arc<Sealer>>,
    ) -> std::io::Result<Outbox> {
        let (queue, pending) = crossbeam_channel::bounded::<Job>(capacity);
        for index in 0..workers.max(1) {
            let pending = pending.clone();
            let sealer = sealer.clone();
            std::thread::Builder::new()
                .name(format!("tcp-writer-{index}"))
                .spawn(move || {
                    while let Ok(job) = pending.recv() {
                        let (kind, peer, result) = match job {
                            Job::Reply(mut reply, envelope) => {
                                let peer = reply.peer();
                                (envelope.body.kind(), peer, reply.send(&envelope, timeout))
                            }
                            Job::Send(to, envelope) => {
                                let result = rumor_transport::Exchange::open(
                                    to,
                                    &envelope,
                                    sealer.as_deref(),
                                    timeout,
                                )
                                .map(drop);
                                (envelope.body.kind(), to, result)
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!("could not send {kind} to {peer}: {e}");
                        }
                    }
                })?;
        }
        Ok(Outbox { queue, from })
    }

    /// Answers on `reply`'s connection.
    pub fn reply(&self, reply: Reply, message: Message) {
        let envelope = Envelope::new(self.from, message);
        self.push(Job::Reply(reply, envelope));
    }

    /// Sends `message` on a new connection to `to`.
    pub fn send(&self, to: SocketAddr, message: Message) {
        let envelope = Envelope::new(self.from, message);
        self.push(Job::Send(to, envelope));
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
